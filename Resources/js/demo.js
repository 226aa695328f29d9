// Demo page behaviour. Loaded before the tracker so it can show what Veil answered: the
// tracker sends with sendBeacon, which cannot read an answer, so on this page only the
// beacon is replaced by a fetch that reads it. Also a custom event and a client-side
// (pushState) navigation.
(function () {
  var reasons = {
    bot: 'your browser looks like a bot or crawler to Veil',
    dnt: 'your browser sends Do Not Track',
    gpc: 'your browser sends Global Privacy Control',
    origin_not_allowed: 'this page\u2019s address is not one of the site\u2019s origins',
    unknown_site: 'the site is not in Veil\u2019s config',
    invalid_url: 'the page address could not be read'
  };
  function say(text) {
    var el = document.getElementById('demo-visit');
    if (el) el.textContent = text; else document.addEventListener('DOMContentLoaded', function () { say(text); });
  }
  function answer(name, j) {
    if (name !== 'pageview') return;
    if (j.accepted > 0) say('Your visit was just counted, without a cookie and without storing your IP address.');
    else if (j.reason) say('Veil received your visit but did not count it: ' + (reasons[j.reason] || j.reason) + '.');
    else if (j.error) say('Veil answered ' + j.error + ': your visit was not counted.');
    else say('Veil did not count your visit.');
  }
  var n = navigator;
  if (n.globalPrivacyControl || /1|yes/.test(n.doNotTrack + window.doNotTrack)) {
    say('The tag sent nothing: your browser asks not to be tracked (Do Not Track or Global Privacy Control), and Veil honours that.');
  }
  var beacon = n.sendBeacon && n.sendBeacon.bind(n);
  n.sendBeacon = function (url, body) {
    if (!/\/api\/event$/.test(url)) return beacon ? beacon(url, body) : false;
    var name = '';
    try { name = JSON.parse(body).name; } catch (x) {}
    fetch(url, { method: 'POST', body: body, keepalive: true })
      .then(function (r) { return r.json(); })
      .then(function (j) { answer(name, j); }, function () { if (name === 'pageview') say('The tag could not reach Veil: your visit was not counted.'); });
    return true;
  };
})();

document.addEventListener('DOMContentLoaded', function () {
  var status = document.getElementById('demo-status');
  document.getElementById('demo-signup').addEventListener('click', function () {
    window.veil.track('Signup', { plan: 'demo' });
    status.textContent = 'Sent a \u201cSignup\u201d event.';
  });
  document.getElementById('demo-nav').addEventListener('click', function (e) {
    e.preventDefault();
    history.pushState({}, '', this.getAttribute('data-path'));
    status.textContent = 'Navigated client-side to ' + location.pathname + ': a second pageview.';
  });
});
