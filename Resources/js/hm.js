/* Veil heatmap overlay: once the player has rebuilt the page view (script-less, sandboxed
   frame), finds each clicked element by its tag path and draws its clicks where in the
   element's box they landed, and the scroll-depth bands, as SVG over the frame. Nothing
   from the recording is executed or inserted as markup: paths only go to querySelector. */
(function(d) {
  var root = d.getElementById('player');
  if (!root || !root.hasAttribute('data-heatmap')) return;
  var data = JSON.parse(root.getAttribute('data-heatmap')), SVG = 'http://www.w3.org/2000/svg';
  function el(tag, attrs) { var e = d.createElementNS(SVG, tag); for (var k in attrs) e.setAttribute(k, attrs[k]); return e; }
  function draw() {
    var frame = d.getElementById('replay-frame'), doc = frame.contentDocument, layer = d.getElementById('cursor').parentNode;
    if (!doc || !doc.documentElement) return;
    var w = frame.offsetWidth, h = frame.offsetHeight, svg = el('svg', { width: w, height: h, viewBox: '0 0 ' + w + ' ' + h, 'class': 'heat', id: 'heat' });
    // Scroll depth: the share of page views that reached each tenth of the page.
    var page = doc.documentElement.scrollHeight || h;
    (data.reached || []).forEach(function(share, i) {
      var y = page * i / 10, band = el('rect', { x: 0, y: y, width: w, height: page / 10, 'class': 'depth', 'fill-opacity': (1 - share) * 0.35 });
      var t = el('title', {}); t.textContent = Math.round(share * 100) + ' % of page views reached ' + (i * 10) + '–' + (i * 10 + 10) + ' %';
      band.appendChild(t); svg.appendChild(band);
      var label = el('text', { x: w - 8, y: y + 16, 'class': 'depth-label', 'text-anchor': 'end' }); label.textContent = Math.round(share * 100) + ' %';
      svg.appendChild(label);
    });
    var peak = 1, found = 0;
    (data.cells || []).forEach(function(c) { peak = Math.max(peak, c[3]); });
    (data.auto || []).forEach(function(a) { peak = Math.max(peak, a[1]); });
    (data.cells || []).forEach(function(c) {
      var target;
      try { target = doc.querySelector(c[0]); } catch (x) { return; }
      if (!target || !target.getBoundingClientRect) return;
      var r = target.getBoundingClientRect(), cx = r.left + (c[1] + 0.5) / 20 * r.width, cy = r.top + (c[2] + 0.5) / 20 * r.height;
      var dot = el('circle', { cx: cx.toFixed(1), cy: cy.toFixed(1), r: (8 + 14 * Math.sqrt(c[3] / peak)).toFixed(1), 'class': 'hot', 'data-element': c[0] });
      var t = el('title', {}); t.textContent = c[3] + ' click' + (c[3] == 1 ? '' : 's') + ' on ' + c[0];
      dot.appendChild(t); svg.appendChild(dot); found++;
    });
    // Autocaptured clicks: found by their CSS path, drawn as squares at the element's centre.
    (data.auto || []).forEach(function(a) {
      var target;
      try { target = doc.querySelector(a[0]); } catch (x) { return; }
      if (!target || !target.getBoundingClientRect) return;
      var r = target.getBoundingClientRect(), s = 10 + 10 * Math.sqrt(a[1] / peak);
      var sq = el('rect', { x: (r.left + r.width / 2 - s / 2).toFixed(1), y: (r.top + r.height / 2 - s / 2).toFixed(1), width: s.toFixed(1), height: s.toFixed(1),
                            'class': 'auto', 'data-selector': a[0] });
      var t = el('title', {}); t.textContent = a[1] + ' autocaptured click' + (a[1] == 1 ? '' : 's') + ' on ' + a[0];
      sq.appendChild(t); svg.appendChild(sq); found++;
    });
    var old = d.getElementById('heat'); if (old) old.remove();
    layer.appendChild(svg);
    root.setAttribute('data-hotspots', String(found));
  }
  var wait = setInterval(function() {
    if (root.getAttribute('data-ready') != 'true') return;
    clearInterval(wait);
    draw();
    window.addEventListener('resize', function() { setTimeout(draw, 50); });
  }, 50);
})(document);
