// Demo page behaviour: a custom event and a client-side (pushState) navigation.
document.addEventListener('DOMContentLoaded', function () {
  var status = document.getElementById('demo-status');
  document.getElementById('demo-signup').addEventListener('click', function () {
    window.veil.track('Signup', { plan: 'demo' });
    status.textContent = 'Sent a “Signup” event.';
  });
  document.getElementById('demo-nav').addEventListener('click', function (e) {
    e.preventDefault();
    history.pushState({}, '', this.getAttribute('data-path'));
    status.textContent = 'Navigated client-side to ' + location.pathname + ': a second pageview.';
  });
});
