/* Veil session recorder: rrweb-format events, masked before they leave the browser. */
(function(w, d) {
  var me = d.currentScript;
  if (!me || w.__veilRec) return;
  w.__veilRec = 1;
  var site = me.getAttribute('data-site'), origin = new URL(me.src).origin, loc = w.location;
  var pick = /[#&]veil-pick=([\w.-]+)/.exec(loc.hash);
  if (pick) return picker(pick[1]);
  var MASK = '******', ids = new WeakMap(), nextId = 1, buf = [], size = 0, seq = 0, opts, eraseSel;
  var page = rid(), lastHref = loc.href, now = Date.now;

  function rid() { var b = new Uint8Array(12), h = '', i; crypto.getRandomValues(b); for (i = 0; i < 12; i++) h += (b[i] + 256).toString(16).slice(1); return h; }
  function idOf(n) { return n && ids.get(n); }

  // Text that looks like personal data (the server re-applies its exact scanners).
  // One pass, and only over text with a digit or an @: most page text has neither.
  var PII = /[\w.+-]+@[\w-]+(?:\.[\w-]+)+|\b(?:\d[ -]?){13,19}\b|\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]){11,30}\b|\b\d{3}-\d{2}-\d{4}\b|(?:\+|\b00)\d[\d ().-]{7,}\d\b|\(?\b\d{3}\)?[ .-]\d{3}[ .-]\d{4}\b|\b(?:\d{1,3}\.){3}\d{1,3}\b/g;
  function star(t) { return t.replace(/\S/g, '*'); }
  // Erased text: as many characters in a fixed pattern, so no word's length survives.
  function fill(t) { return t.replace(/\S(?:[\s\S]*\S)?/, function(m) { for (var s = '', i = 0; i < m.length; i++) s += i % 6 == 5 ? ' ' : '*'; return s; }); }
  function maskText(t) {
    if (opts.mask_text == 'all') return star(t);
    if (opts.mask_text == 'none' || t.length < 7 || !/[\d@]/.test(t)) return t;
    return t.replace(PII, star);
  }
  // Selectors the browser rejects are left out at start, so one bad entry cannot switch
  // erasure off for the others. Per element the attribute is checked first (cheap, and
  // all there is on most sites); `closest` takes both for ancestors.
  var eraseCfg, blockCfg;
  function erased(el) { return el.hasAttribute('data-veil-erase') || !!eraseCfg && el.matches(eraseCfg); }
  function blocked(el) { return el.hasAttribute('data-veil-block') || !!blockCfg && el.matches(blockCfg); }
  function insideErased(n) { var p = n.parentElement; return !!p && !!p.closest(eraseSel); }
  function valid(list) {
    var f = d.createDocumentFragment();
    return (list || []).filter(function(s) { try { f.querySelector(s); return true; } catch (x) { return false; } }).join(',');
  }
  // Fields whose value is never read: passwords, hidden and payment fields.
  function secretField(el) {
    var t = (el.type || '').toLowerCase(), ac = (el.getAttribute('autocomplete') || '').toLowerCase();
    return t == 'password' || t == 'hidden' || /^cc-/.test(ac) || /card|cvc|cvv|iban/i.test(el.name || el.id || '');
  }
  function isField(el) {
    var t = el.tagName;
    return t == 'TEXTAREA' || t == 'SELECT' || (t == 'INPUT' && !/^(submit|button|reset|checkbox|radio|image)$/i.test(el.type));
  }
  function fieldValue(el) { return secretField(el) ? MASK : (el.value ? MASK : ''); }
  function abs(v) { try { return new URL(v, d.baseURI).href; } catch (x) { return v; } }
  function cssOf(sheet) {
    try { var r = sheet.cssRules, out = '', i; for (i = 0; i < r.length; i++) out += r[i].cssText; return out; } catch (x) { return null; }
  }
  var LABEL = { title: 1, alt: 1, placeholder: 1, 'aria-label': 1 }, MEDIA = { src: 1, srcset: 1, poster: 1 };
  function attrValue(el, name, v, erase) {
    // Cheapest and commonest first: these hold no visitor data.
    if (name == 'class' || name == 'id' || name == 'style') return v;
    if (name.charCodeAt(0) == 111 && name.charCodeAt(1) == 110 || name == 'srcdoc' || /^\s*(javascript|vbscript):/i.test(v)) return null;
    if (name == 'value' && isField(el)) return fieldValue(el);
    if ((erase || opts.mask_text == 'all') && LABEL[name]) return erase ? fill(v) : star(v);
    if (erase && MEDIA[name]) return null;
    if (name == 'href' || name == 'src') { var p = el[name]; return typeof p == 'string' && p ? p : abs(v); }
    if (name == 'action' || name == 'poster' || name == 'background') return abs(v);
    if (name == 'srcset') return v.replace(/(^|,\s*)(\S+)/g, function(m, a, u) { return a + abs(u); });
    if (name.lastIndexOf('data-', 0) == 0) return v;
    return maskText(v);
  }
  function box(el, a) {
    var r = el.getBoundingClientRect();
    a.rr_width = r.width + 'px'; a.rr_height = r.height + 'px';
    return a;
  }

  // Serialises a node and its subtree; null for nodes left out (comments, script text).
  function ser(n, erase) {
    var o, t = n.nodeType, i, c, k, id = nextId++;
    ids.set(n, id);
    if (t == 9) { o = { type: 0, childNodes: [], id: id }; }
    else if (t == 10) return { type: 1, name: n.name, publicId: n.publicId, systemId: n.systemId, id: id };
    else if (t == 3) {
      var p = n.parentNode, pt = p && p.tagName, v = n.textContent;
      if (pt == 'SCRIPT') v = '';
      else if (pt == 'STYLE') return { type: 3, textContent: cssOf(p.sheet) || v, isStyle: true, id: id };
      else if (pt == 'TEXTAREA') v = v ? MASK : '';
      else v = erase ? fill(v) : maskText(v);
      return { type: 3, textContent: v, id: id };
    } else if (t == 1) {
      var tag = n.tagName.toLowerCase(), a = {};
      if (blocked(n)) return { type: 2, tagName: tag, attributes: box(n, n.id ? { id: n.id } : {}), childNodes: [], id: id };
      // Where erasure starts, the element keeps its measured box (the player sizes it).
      var root = !erase && erased(n);
      erase = erase || root;
      var field = isField(n);
      for (i = 0; i < n.attributes.length; i++) {
        k = n.attributes[i].name;
        // A field's value attribute is not even read: the mask stands for it.
        if (field && k == 'value') continue;
        var v2 = attrValue(n, k, n.attributes[i].value, erase);
        if (v2 != null) a[k] = v2;
      }
      if (tag == 'link' && /stylesheet/i.test(n.rel) && n.sheet) { var css = cssOf(n.sheet); if (css) { a._cssText = css; delete a.href; } }
      if (field && tag != 'select') a.value = fieldValue(n);
      if (n.type == 'checkbox' || n.type == 'radio') a.checked = n.checked;
      if (root || erase && tag == 'img') box(n, a);
      o = { type: 2, tagName: tag, attributes: a, childNodes: [], id: id };
      if (n instanceof SVGElement) o.isSVG = true;
      if (tag == 'script' || tag == 'noscript') return o;
    } else { ids.delete(n); nextId--; return null; }
    for (c = n.firstChild; c; c = c.nextSibling) { var s = ser(c, erase); if (s) o.childNodes.push(s); }
    return o;
  }

  function emit(type, data) {
    if (stopped) return;
    buf.push({ type: type, data: data, timestamp: now() });
    // Sizes are estimated, not measured: a snapshot is sent at once (in a later task, so
    // encoding it never lengthens the snapshot itself), other events count ~120 bytes.
    size += type == 2 ? 65536 : 120;
    if (size > 65536) setTimeout(flush, 0);
  }
  function snapshot() {
    var t0 = performance.now();
    ids = new WeakMap(); nextId = 1; pending = []; budget = new Map();
    emit(4, { href: loc.href, width: w.innerWidth, height: w.innerHeight });
    emit(2, { node: ser(d, false), initialOffset: { left: w.pageXOffset, top: w.pageYOffset } });
    // Read by the recorder benchmark (scripts/bench-recorder.py).
    if (!w.__veilSnapshotMs) w.__veilSnapshotMs = performance.now() - t0;
    setTimeout(scrolled, 0);
  }
  // Heatmaps: a click also names its element by tag path (no ids, classes or text) and
  // where in the element's box it landed (per mille), so it lands on the same element at
  // any width; the page's scroll events carry the document's and the viewport's heights.
  function spot(m, el) {
    var parts = [], n = el, r;
    while (n && n.nodeType == 1 && n != d.documentElement && parts.length < 40) {
      var tag = n.tagName.toLowerCase(), i = 1, s = n;
      if (tag == 'body') { parts.unshift(tag); break; }
      while ((s = s.previousElementSibling)) if (s.tagName == n.tagName) i++;
      parts.unshift(tag + ':nth-of-type(' + i + ')');
      n = n.parentElement;
    }
    if (parts[0] != 'body' || !el.getBoundingClientRect) return;
    r = el.getBoundingClientRect();
    m.p = parts.join('>');
    m.rx = r.width ? Math.max(0, Math.min(1000, Math.round((m.x - r.left) / r.width * 1000))) : 500;
    m.ry = r.height ? Math.max(0, Math.min(1000, Math.round((m.y - r.top) / r.height * 1000))) : 500;
  }
  function depth(m) { var el = d.scrollingElement || d.documentElement; m.dh = el.scrollHeight; m.vh = w.innerHeight; }
  // Inner elements already scrolled when the snapshot was taken, as Scroll events: reading
  // every element's offsets is a layout query, kept out of the snapshot's own task.
  function scrolled() {
    var top = d.scrollingElement || d.documentElement, first = { source: 3, id: idOf(d) || 1, x: top.scrollLeft, y: top.scrollTop };
    depth(first);
    emit(3, first);
    var all = d.body ? d.body.getElementsByTagName('*') : [], i, el, id;
    for (i = 0; i < all.length; i++) {
      el = all[i];
      if ((el.scrollTop || el.scrollLeft) && (id = idOf(el))) emit(3, { source: 3, id: id, x: el.scrollLeft, y: el.scrollTop });
    }
  }
  // The server caps each recording; past it, it answers {stop} and recording ends here.
  var stopped = 0;
  function halt() { stopped = 1; w.__veilRec = 3; buf = []; pending = []; if (observer) observer.disconnect(); }
  function flush(leaving) {
    if (stopped) return;
    takeMutations();
    if (!buf.length) return;
    var body = JSON.stringify({ site: site, page: page, seq: seq++, events: buf, vid: w.veil && w.veil.visitorId && w.veil.visitorId() || undefined });
    buf = []; size = 0;
    try { fetch(origin + '/api/replay', { method: 'POST', body: body, keepalive: leaving && body.length < 60000, headers: { 'Content-Type': 'text/plain' } })
      .then(function(r) { return r.json(); }).then(function(j) { if (j && j.stop) halt(); })['catch'](function() {}); } catch (x) {}
  }

  // Mutations: gathered per batch, coalesced per node, capped per batch (above the cap a
  // fresh snapshot replaces them) and per node (a node changing constantly is sampled).
  var pending = [], budget = new Map(), CAP = 3000, NODE_BUDGET = 60;
  function takeMutations() {
    if (observer) pending = pending.concat(observer.takeRecords());
    if (!pending.length) return;
    var recs = pending; pending = [];
    if (recs.length > CAP) { snapshot(); return; }
    // Values are read from the DOM, not the records, so skipping a busy node's extra
    // records in this batch loses no final state.
    budget = new Map();
    var adds = [], removes = [], texts = new Map(), attrs = new Map(), added = new Set(), i, j, r;
    function spent(n) { var c = (budget.get(n) || 0) + 1; budget.set(n, c); return c > NODE_BUDGET; }
    for (i = 0; i < recs.length; i++) {
      r = recs[i];
      if (r.type == 'childList') {
        var pid = idOf(r.target);
        if (!pid) continue;
        for (j = 0; j < r.removedNodes.length; j++) {
          var rn = r.removedNodes[j], rid2 = idOf(rn);
          if (rid2 && !added.has(rn)) removes.push({ parentId: pid, id: rid2 });
        }
        for (j = 0; j < r.addedNodes.length; j++) {
          var an = r.addedNodes[j];
          if (!an.isConnected || an.parentNode != r.target || added.has(an)) continue;
          var node = ser(an, insideErased(an));
          if (!node) continue;
          (function mark(n) { added.add(n); for (var c = n.firstChild; c; c = c.nextSibling) mark(c); })(an);
          var nx = an.nextSibling; while (nx && !idOf(nx)) nx = nx.nextSibling;
          adds.push({ parentId: pid, nextId: nx ? idOf(nx) : null, node: node });
        }
      } else if (r.type == 'characterData') {
        var tid = idOf(r.target), tp = r.target.parentNode;
        if (!tid || added.has(r.target) || spent(r.target) || !tp) continue;
        var tv = r.target.textContent;
        texts.set(tid, tp.tagName == 'STYLE' ? tv : tp.tagName == 'TEXTAREA' ? MASK : insideErased(r.target) ? fill(tv) : maskText(tv));
      } else if (r.type == 'attributes') {
        var el = r.target, aid = idOf(el);
        if (!aid || added.has(el) || spent(el)) continue;
        var v = el.getAttribute(r.attributeName);
        var a = attrs.get(aid) || {};
        a[r.attributeName] = v == null ? null : attrValue(el, r.attributeName, v, !!el.closest(eraseSel));
        if (a[r.attributeName] === undefined) delete a[r.attributeName];
        attrs.set(aid, a);
      }
    }
    var tl = [], al = [];
    texts.forEach(function(v, k) { tl.push({ id: k, value: v }); });
    attrs.forEach(function(v, k) { al.push({ id: k, attributes: v }); });
    if (adds.length || removes.length || tl.length || al.length) emit(3, { source: 0, texts: tl, attributes: al, removes: removes, adds: adds });
  }

  var observer, moves = [], lastMove = 0, scrolls = new WeakMap();
  function start(settings) {
    if (!settings) return;
    opts = settings;
    eraseCfg = valid(opts.erase);
    blockCfg = valid(opts.block);
    eraseSel = '[data-veil-erase]' + (eraseCfg ? ',' + eraseCfg : '');
    snapshot();
    observer = new MutationObserver(function(list) { pending = pending.concat(list); if (pending.length > CAP) takeMutations(); });
    observer.observe(d, { childList: true, subtree: true, attributes: true, characterData: true });
    var on = function(t, f, target) { (target || d).addEventListener(t, f, { capture: true, passive: true }); };
    on('mousemove', function(e) {
      var t = now();
      if (t - lastMove < 50) return;
      lastMove = t;
      moves.push({ x: e.clientX, y: e.clientY, id: idOf(e.target) || 0, timeOffset: t });
    });
    var kinds = { mouseup: 0, mousedown: 1, click: 2, contextmenu: 3, dblclick: 4, focus: 5, blur: 6, touchstart: 7, touchend: 9 };
    Object.keys(kinds).forEach(function(k) {
      on(k, function(e) {
        var id = idOf(e.target);
        if (!id) return;
        var p = e.touches && e.touches[0] || e.changedTouches && e.changedTouches[0] || e;
        takeMutations();
        var m = { source: 2, type: kinds[k], id: id, x: p.clientX || 0, y: p.clientY || 0 };
        if (k == 'click') spot(m, e.target);
        emit(3, m);
      });
    });
    on('scroll', function(e) {
      var t = e.target, id = idOf(t), last = scrolls.get(t) || 0;
      if (!id || now() - last < 100) return;
      scrolls.set(t, now());
      var el = t == d ? d.scrollingElement || d.documentElement : t, m = { source: 3, id: id, x: el.scrollLeft, y: el.scrollTop };
      if (t == d) depth(m);
      emit(3, m);
    });
    var rz;
    w.addEventListener('resize', function() {
      clearTimeout(rz);
      rz = setTimeout(function() { emit(3, { source: 4, width: w.innerWidth, height: w.innerHeight }); }, 100);
    });
    var input = function(e) {
      var el = e.target, id = idOf(el);
      if (!id || !el.tagName || !/^(INPUT|TEXTAREA|SELECT)$/.test(el.tagName)) return;
      takeMutations();
      var chk = el.type == 'checkbox' || el.type == 'radio';
      emit(3, { source: 5, id: id, text: chk ? '' : fieldValue(el), isChecked: chk ? el.checked : false });
    };
    on('input', input); on('change', input);
    // SPA navigation: a new page view within the same page load gets a new snapshot.
    var hist = w.history;
    ['pushState', 'replaceState'].forEach(function(m) {
      var orig = hist[m];
      hist[m] = function() { var r = orig.apply(this, arguments); changed(); return r; };
    });
    w.addEventListener('popstate', changed);
    setInterval(function() { sendMoves(); takeMutations(); }, 500);
    setInterval(flush, 5000);
    w.addEventListener('pagehide', function() { sendMoves(); flush(true); });
    w.__veilRec = 2;  // recording (1: loaded, waiting for settings and the load event)
  }
  // Sampled pointer positions, each timed relative to the event that carries them (rrweb's
  // timeOffset is negative: how long before the event the pointer was there).
  function sendMoves() {
    if (!moves.length) return;
    var t = now();
    moves.forEach(function(m) { m.timeOffset -= t; });
    emit(3, { source: 1, positions: moves });
    moves = [];
  }
  function changed() {
    if (loc.href == lastHref) return;
    lastHref = loc.href;
    setTimeout(function() { takeMutations(); flush(); snapshot(); }, 0);
  }
  // Settings first (erase selectors must apply to the first snapshot), then window load
  // so stylesheets can be inlined.
  var loaded = new Promise(function(ok) { if (d.readyState == 'complete') ok(); else w.addEventListener('load', ok); });
  fetch(origin + '/api/replay/settings?site=' + encodeURIComponent(site)).then(function(r) { return r.ok && r.json(); })
    .then(function(s) { return loaded.then(function() { start(s); }); })['catch'](function() {});

  // Magic erasure picker: outlines the element under the pointer with its CSS path; a
  // click toggles erasure for that selector through an authenticated call.
  function picker(token) {
    try { history.replaceState(null, '', loc.pathname + loc.search); } catch (x) {}
    var picked = [], hl = d.createElement('div'), tip = d.createElement('div'), bar = d.createElement('div');
    hl.style.cssText = 'position:fixed;pointer-events:none;z-index:2147483646;border:2px solid #d33;background:rgba(221,51,51,.12);transition:all .05s';
    tip.style.cssText = 'position:fixed;pointer-events:none;z-index:2147483647;background:#222;color:#fff;font:12px monospace;padding:2px 6px;border-radius:3px';
    bar.style.cssText = 'position:fixed;bottom:0;left:0;right:0;z-index:2147483647;background:#222;color:#fff;font:14px sans-serif;padding:8px 12px';
    bar.textContent = 'Veil magic erasure: click an element to erase it from recordings (click again to restore). Press Esc to stop.';
    // The link's token works once: it is exchanged for a session key, which the calls use.
    var session = fetch(origin + '/api/replay/pick/session', { method: 'POST', headers: { Authorization: 'Bearer ' + token } })
      .then(function(r) { if (!r.ok) throw new Error('expired'); return r.json(); }).then(function(r) { return r.session; });
    function api(method, body) {
      return session.then(function(key) {
        return fetch(origin + '/api/replay/pick', { method: method, body: body, headers: { Authorization: 'Bearer ' + key, 'Content-Type': 'application/json' } });
      }).then(function(r) { return r.json(); });
    }
    function path(el) {
      var parts = [];
      while (el && el.nodeType == 1 && el != d.body && parts.length < 4) {
        if (el.id && /^[A-Za-z][\w-]*$/.test(el.id)) { parts.unshift('#' + el.id); break; }
        var s = el.tagName.toLowerCase(), cls = [].filter.call(el.classList, function(c) { return /^[A-Za-z][\w-]*$/.test(c); }).slice(0, 2);
        if (cls.length) s += '.' + cls.join('.');
        parts.unshift(s);
        el = el.parentElement;
      }
      return parts.join(' > ');
    }
    function paint() {
      [].forEach.call(d.querySelectorAll('[data-veil-picked]'), function(e) { e.style.outline = ''; e.removeAttribute('data-veil-picked'); });
      picked.forEach(function(s) { try { [].forEach.call(d.querySelectorAll(s), function(e) { e.style.outline = '2px dashed #d33'; e.setAttribute('data-veil-picked', ''); }); } catch (x) {} });
    }
    function update(r) { if (r && r.picked) { picked = r.picked; paint(); } return r; }
    function move(e) {
      var el = e.target;
      if (!el || el == bar) return;
      var r = el.getBoundingClientRect();
      hl.style.left = r.left + 'px'; hl.style.top = r.top + 'px'; hl.style.width = r.width + 'px'; hl.style.height = r.height + 'px';
      tip.textContent = path(el) + (picked.indexOf(path(el)) >= 0 ? '  (erased)' : '');
      tip.style.left = Math.max(0, r.left) + 'px'; tip.style.top = Math.max(0, r.top - 22) + 'px';
    }
    function click(e) {
      if (e.target == bar) return;
      e.preventDefault(); e.stopPropagation();
      var sel = path(e.target);
      if (!sel) return;
      api('POST', JSON.stringify({ selector: sel })).then(update).then(function(r) {
        bar.textContent = (r && r.erased ? 'Erased ' : 'Restored ') + sel + ' \u2014 Esc to stop.';
      });
    }
    function stop(e) {
      if (e.key != 'Escape') return;
      d.removeEventListener('mousemove', move, true); d.removeEventListener('click', click, true); d.removeEventListener('keydown', stop, true);
      hl.remove(); tip.remove(); bar.remove();
    }
    function go() {
      d.body.append(hl, tip, bar);
      d.addEventListener('mousemove', move, true);
      d.addEventListener('click', click, true);
      d.addEventListener('keydown', stop, true);
      api('GET').then(update)['catch'](function() { bar.textContent = 'Veil: this picker link was already used or has expired. Start the picker again from the dashboard.'; });
    }
    if (d.body) go(); else d.addEventListener('DOMContentLoaded', go);
  }
})(window, document);
