/* Veil replay player: rebuilds rrweb recordings (1.1.x and 2.x encodings) in an iframe
   sandboxed without scripts, sanitising every node again as it is built. */
(function(d) {
  var root = d.getElementById('player');
  if (!root) return;
  var frame = d.getElementById('replay-frame'), stage = d.getElementById('stage'), cursor = d.getElementById('cursor');
  var playBtn = d.getElementById('play'), seek = d.getElementById('seek'), clock = d.getElementById('clock'), speedSel = d.getElementById('speed');
  var skipBox = d.getElementById('skip'), list = d.getElementById('events'), marks = d.getElementById('marks'), urlOut = d.getElementById('page-url');
  var sizeOut = d.getElementById('viewport'), linkOut = d.getElementById('moment-link'), statusOut = d.getElementById('player-status');
  var events = [], start = 0, end = 0, pos = 0, applied = 0, playing = false, last = 0, nodes = new Map(), doc, vw = 1024, vh = 768;
  var SVG = 'http://www.w3.org/2000/svg';
  var w = window;

  function status(t) { statusOut.textContent = t; }
  function fmt(ms) { var s = Math.max(0, Math.floor(ms / 1000)); return Math.floor(s / 60) + ':' + ('0' + s % 60).slice(-2); }

  // --- Sanitising rebuild -------------------------------------------------------------
  var BAD_TAGS = /^(script|base|object|embed|applet|frame|frameset|portal)$/;
  function badURL(v) { return /^(javascript|vbscript|data:text\/html)/i.test(String(v).replace(/[\u0000-\u0020]/g, '')); }
  // Nothing a recording holds may make the viewer's browser request Veil's own origin
  // (where the viewer is signed in): URLs that land on Veil, or could (relative
  // ones), are dropped; CSS url()/@import/image-set too.
  var OWN = location.origin;
  var URL_ATTRS = /^(src|href|xlink:href|poster|background|data|action|cite|longdesc|ping|manifest|icon|lowsrc|dynsrc|archive|codebase|profile|usemap)$/;
  // Relative URLs would resolve against Veil (the frame's base), so they count as own;
  // recorders write absolute URLs. A bare fragment (SVG url(#id)) requests nothing.
  function own(u) { u = String(u).trim(); if (u.charAt(0) == '#') return false; try { return new URL(u).origin === OWN; } catch (x) { return true; } }
  function ownSet(v) { return String(v).split(',').some(function(p) { var u = p.trim().split(/\s+/)[0]; return u && own(u); }); }
  function unescapeCSS(s) {
    return s.replace(/\\([0-9a-f]{1,6})\s?/gi, function(m, h) { try { return String.fromCodePoint(parseInt(h, 16)); } catch (x) { return ''; } }).replace(/\\(.)/g, '$1');
  }
  function ownInCSS(s) {
    var found = false;
    s.replace(/url\(\s*(['"]?)([^'")]*)\1\s*\)/gi, function(m, q, u) { if (own(u)) found = true; return m; });
    s.replace(/@import\s+(['"])([^'"]*)\1/gi, function(m, q, u) { if (own(u)) found = true; return m; });
    s.replace(/image-set\(([^)]*)\)/gi, function(m, inner) { inner.replace(/(['"])([^'"]*)\1/g, function(m2, q, u) { if (own(u)) found = true; return m2; }); return m; });
    return found;
  }
  function cleanCSS(css) {
    css = String(css).replace(/url\(\s*(['"]?)([^'")]*)\1\s*\)/gi, function(m, q, u) { return own(u) ? 'url(about:blank)' : m; })
      .replace(/@import\s+(['"])([^'"]*)\1/gi, function(m, q, u) { return own(u) ? '@import "about:blank"' : m; });
    // Escapes can spell url( or a URL another way: if the unescaped text still reaches
    // Veil, the whole style goes.
    return ownInCSS(css) || ownInCSS(unescapeCSS(css)) ? '' : css;
  }
  function setAttr(el, tag, k, v) {
    var name = String(k).toLowerCase();
    if (/^on/.test(name) || name == 'srcdoc' || name == 'formaction' || name == 'http-equiv' || name == 'nonce' || /^rr_/.test(name) && name != 'rr_width' && name != 'rr_height') return;
    if (v === null || v === false) { try { el.removeAttribute(k); } catch (x) {} return; }
    if (name == 'style' && typeof v == 'object') { setStyle(el, v); return; }
    v = String(v);
    if (badURL(v)) return;
    if (URL_ATTRS.test(name) && own(v) || /srcset$/.test(name) && ownSet(v)) { try { el.removeAttribute(k); } catch (x) {} return; }
    if (name == 'style') v = cleanCSS(v);
    if (name == '_csstext') { el.textContent = cleanCSS(v); return; }
    if (name == 'rr_width' || name == 'rr_height') {
      el.style[name == 'rr_width' ? 'width' : 'height'] = v;
      el.style.background = 'repeating-linear-gradient(45deg,#ccc,#ccc 6px,#e6e6e6 6px,#e6e6e6 12px)';
      el.style.display = el.style.display || 'inline-block';
      return;
    }
    if (tag == 'iframe' && name == 'src') v = 'about:blank';
    if (tag == 'a' && name == 'target') return;
    try { el.setAttribute(k, v); } catch (x) {}
    if (name == 'value' && 'value' in el) el.value = v;
    if (name == 'checked') el.checked = v !== 'false';
  }
  function setStyle(el, obj) {
    for (var p in obj) {
      var v = obj[p];
      if (v === false) el.style.removeProperty(p);
      else if (Array.isArray(v)) el.style.setProperty(p, cleanCSS(v[0]), v[1]);
      else el.style.setProperty(p, cleanCSS(v));
    }
  }
  function build(n, parentTag, svg) {
    var el;
    switch (n.type) {
      case 0: return null;
      case 1: try { el = doc.implementation.createDocumentType(n.name || 'html', n.publicId || '', n.systemId || ''); } catch (x) { return null; } break;
      case 3: el = doc.createTextNode(parentTag == 'script' ? '' : parentTag == 'style' ? cleanCSS(n.textContent || '') : n.textContent || ''); break;
      case 4: el = doc.createTextNode(''); break;
      case 5: el = doc.createComment(''); break;
      case 2:
        var tag = String(n.tagName || 'div').toLowerCase().replace(/[^a-z0-9-]/g, '') || 'div';
        svg = svg || n.isSVG || tag == 'svg';
        var safe = BAD_TAGS.test(tag) ? 'noscript' : tag == 'meta' && n.attributes && 'http-equiv' in n.attributes ? 'meta' : tag;
        if (tag == 'link' && n.attributes && n.attributes._cssText != null) safe = 'style';
        el = svg ? doc.createElementNS(SVG, safe) : doc.createElement(safe);
        var a = n.attributes || {};
        for (var k in a) setAttr(el, safe, k, a[k]);
        if (tag == 'script' || safe == 'noscript') { nodes.set(n.id, el); return el; }
        break;
      default: return null;
    }
    nodes.set(n.id, el);
    (n.childNodes || []).forEach(function(c) { var ch = build(c, tag, svg); if (ch) el.appendChild(ch); });
    return el;
  }
  function snapshot(node) {
    doc = frame.contentDocument;
    nodes = new Map();
    while (doc.firstChild) doc.removeChild(doc.firstChild);
    nodes.set(node.id, doc);
    (node.childNodes || []).forEach(function(c) { var ch = build(c, '', false); if (ch) { try { doc.appendChild(ch); } catch (x) {} } });
    // Links in the replay never navigate.
    var st = doc.createElement('style');
    st.textContent = '*{pointer-events:none!important}';
    (doc.head || doc.documentElement || doc).appendChild(st);
  }
  function mutate(m) {
    (m.removes || []).forEach(function(r) { var n = nodes.get(r.id); if (n && n.parentNode) n.parentNode.removeChild(n); nodes.delete(r.id); });
    var adds = (m.adds || []).slice(), tries = 0;
    // Parents may arrive later in the same batch: retry those until nothing changes.
    while (adds.length && tries++ < 3) {
      adds = adds.filter(function(a) {
        var p = nodes.get(a.parentId);
        if (!p) return true;
        var tag = p.tagName ? p.tagName.toLowerCase() : '', el = build(a.node, tag, p.namespaceURI == SVG);
        if (!el) return false;
        var next = a.nextId != null && nodes.get(a.nextId);
        try { if (next && next.parentNode == p) p.insertBefore(el, next); else p.appendChild(el); } catch (x) {}
        return false;
      });
    }
    (m.texts || []).forEach(function(t) {
      var n = nodes.get(t.id);
      if (n) n.textContent = n.parentNode && n.parentNode.nodeName == 'STYLE' ? cleanCSS(t.value) : t.value;
    });
    (m.attributes || []).forEach(function(a) {
      var n = nodes.get(a.id);
      if (!n || !n.setAttribute) return;
      for (var k in a.attributes) setAttr(n, n.tagName.toLowerCase(), k, a.attributes[k]);
    });
  }

  // --- Playback -----------------------------------------------------------------------
  function resize(wd, ht) {
    vw = wd || vw; vh = ht || vh;
    frame.style.width = vw + 'px'; frame.style.height = vh + 'px';
    var scale = Math.min(1, stage.clientWidth / vw);
    frame.style.transform = cursor.parentNode.style.transform = 'scale(' + scale + ')';
    stage.style.height = vh * scale + 'px';
    sizeOut.textContent = vw + ' \u00d7 ' + vh;
  }
  function apply(e, live) {
    var data = e.data || {};
    if (e.type == 4) { urlOut.textContent = data.href || ''; resize(data.width, data.height); return; }
    if (e.type == 2) { snapshot(data.node); var sc = doc.scrollingElement; if (sc && data.initialOffset) sc.scrollTo(data.initialOffset.left, data.initialOffset.top); return; }
    if (e.type != 3) return;
    switch (data.source) {
      case 0: mutate(data); break;
      case 1: case 6:
        var p = (data.positions || [])[(data.positions || []).length - 1];
        if (p) { cursor.style.left = p.x + 'px'; cursor.style.top = p.y + 'px'; }
        break;
      case 2:
        if (data.x != null) { cursor.style.left = data.x + 'px'; cursor.style.top = data.y + 'px'; }
        if (live && data.type == 2) { cursor.classList.remove('click'); void cursor.offsetWidth; cursor.classList.add('click'); }
        break;
      case 3:
        var n = nodes.get(data.id);
        if (n == doc) n = doc.scrollingElement;
        if (n && n.scrollTo) n.scrollTo(data.x, data.y);
        break;
      case 4: resize(data.width, data.height); break;
      case 5:
        var f = nodes.get(data.id);
        if (f && 'value' in f) { if (data.isChecked != null && (f.type == 'checkbox' || f.type == 'radio')) f.checked = data.isChecked; else f.value = data.text || ''; }
        break;
    }
  }
  // Renders the state at `t` (ms from start): from the last full snapshot at or before it.
  function goTo(t) {
    t = Math.max(0, Math.min(t, end - start));
    var target = start + t;
    if (target < (events[applied - 1] || {}).timestamp || applied == 0) {
      var from = 0;
      for (var i = 0; i < events.length && events[i].timestamp <= target; i++) if (events[i].type == 2) from = i;
      while (from > 0 && events[from - 1].type == 4) from--;
      applied = from;
    }
    while (applied < events.length && events[applied].timestamp <= target) apply(events[applied++], false);
    pos = t;
    show();
  }
  function show() {
    seek.value = pos;
    clock.textContent = fmt(pos) + ' / ' + fmt(end - start);
    linkOut.value = location.href.split('#')[0] + '#t=' + Math.floor(pos / 1000);
  }
  function tick(now) {
    if (!playing) return;
    var dt = (now - last) * speedSel.value;
    last = now;
    var next = pos + dt;
    // Skip inactivity: a gap of more than 3 s before the next event is jumped to 0.5 s before it.
    var nx = events[applied];
    if (skipBox.checked && nx && nx.timestamp - start - pos > 3000) next = Math.max(next, nx.timestamp - start - 500);
    var target = start + next;
    while (applied < events.length && events[applied].timestamp <= target) apply(events[applied++], true);
    pos = next;
    if (pos >= end - start) { pos = end - start; playing = false; playBtn.textContent = 'Play'; }
    show();
    if (playing) requestAnimationFrame(tick);
  }
  function toggle() {
    if (!events.length) return;
    playing = !playing;
    playBtn.textContent = playing ? 'Pause' : 'Play';
    if (playing) { if (pos >= end - start) goTo(0); last = performance.now(); requestAnimationFrame(tick); }
  }

  // --- Markers and the event list -----------------------------------------------------
  function markers() {
    var out = [], clicks = [];
    events.forEach(function(e) {
      var t = e.timestamp - start, dt = e.data || {};
      if (e.type == 4) out.push({ t: t, kind: 'page', label: 'Page: ' + (dt.href || '') });
      if (e.type == 5) out.push({ t: t, kind: 'custom', label: 'Event: ' + (dt.tag || '') });
      if (e.type == 3 && dt.source == 2 && dt.type == 2) {
        clicks = clicks.filter(function(c) { return t - c.t <= 1000 && Math.abs(c.x - dt.x) <= 30 && Math.abs(c.y - dt.y) <= 30; });
        clicks.push({ t: t, x: dt.x, y: dt.y });
        if (clicks.length == 3) out.push({ t: t, kind: 'rage', label: 'Rage click' });
        else if (clicks.length < 3) out.push({ t: t, kind: 'click', label: 'Click' });
      }
    });
    var extra = JSON.parse(root.getAttribute('data-marks') || '[]');
    extra.forEach(function(m) { if (m.ts >= start && m.ts <= end) out.push({ t: m.ts - start, kind: m.kind, label: m.label }); });
    out.sort(function(a, b) { return a.t - b.t; });
    out.forEach(function(m) {
      var tick = d.createElement('span');
      tick.className = 'mark ' + m.kind;
      tick.style.left = (100 * m.t / Math.max(1, end - start)) + '%';
      tick.title = m.label + ' at ' + fmt(m.t);
      marks.appendChild(tick);
      var li = d.createElement('li'), b = d.createElement('button');
      b.type = 'button';
      b.className = 'link ' + m.kind;
      b.textContent = fmt(m.t) + '  ' + m.label;
      b.addEventListener('click', function() { goTo(m.t); });
      li.appendChild(b);
      list.appendChild(li);
    });
  }

  function load(text) {
    text.split('\n').forEach(function(line) { if (line) { try { events.push(JSON.parse(line)); } catch (x) {} } });
    events = events.filter(function(e) { return e && typeof e.timestamp == 'number'; });
    // Pointer positions are batched with negative offsets from their event: spread them
    // out to their own moments so the cursor moves as it did.
    var spread = [];
    events.forEach(function(e) {
      var d = e.data || {};
      if (e.type == 3 && (d.source == 1 || d.source == 6) && Array.isArray(d.positions) && d.positions.length > 1) {
        d.positions.forEach(function(p) {
          var off = typeof p.timeOffset == 'number' && p.timeOffset <= 0 ? p.timeOffset : 0;
          spread.push({ type: 3, timestamp: e.timestamp + off, data: { source: d.source, positions: [p] } });
        });
      } else spread.push(e);
    });
    events = spread;
    events.forEach(function(e, i) { e._i = i; });
    events.sort(function(a, b) { return a.timestamp - b.timestamp || a._i - b._i; });
    if (!events.some(function(e) { return e.type == 2; })) { status('This recording has no full snapshot yet, so there is nothing to show.'); return; }
    start = events[0].timestamp; end = events[events.length - 1].timestamp;
    seek.max = end - start;
    markers();
    var m = /#t=(\d+)/.exec(location.hash), first = 0;
    while (events[first].type != 2) first++;
    // Open on the first full snapshot (or the linked moment), never on a blank frame.
    goTo(m ? Math.max(m[1] * 1000, events[first].timestamp - start) : events[first].timestamp - start);
    // Heatmaps: the page view that starts `data-at` ms into the recording, just after its
    // snapshot, at the top and as tall as the whole page (the overlay is drawn on it).
    var at = root.getAttribute('data-at');
    if (at != null) {
      goTo(Math.max(0, +at) + 500);
      var top = doc && doc.scrollingElement;
      if (top) { top.scrollTo(0, 0); resize(vw, Math.max(vh, top.scrollHeight)); }
    }
    status('');
    root.setAttribute('data-ready', 'true');
    if (root.getAttribute('data-autoplay') == 'end') { goTo(end - start); root.setAttribute('data-at-end', 'true'); }
  }

  playBtn.addEventListener('click', toggle);
  seek.addEventListener('input', function() { goTo(+seek.value); });
  w.addEventListener('resize', function() { resize(); });
  d.addEventListener('keydown', function(e) {
    if (e.target.tagName == 'INPUT' && e.target.type != 'range' || e.target.tagName == 'SELECT') return;
    if (e.key == ' ' || e.key == 'k') { e.preventDefault(); toggle(); }
    else if (e.key == 'ArrowRight' || e.key == 'l') goTo(pos + 5000);
    else if (e.key == 'ArrowLeft' || e.key == 'j') goTo(pos - 5000);
    else if (/^[1248]$/.test(e.key)) speedSel.value = e.key;
    else if (e.key == 's') skipBox.checked = !skipBox.checked;
    else return;
    e.preventDefault();
  });
  status('Loading the recording\u2026');
  fetch(root.getAttribute('data-events'), { credentials: 'same-origin' })
    .then(function(r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.text(); })
    .then(load)['catch'](function(e) { status('Could not load the recording: ' + e.message); });
})(document);
