/* Veil survey widget (NPS card and sentiment tab). Loaded by v.js only for sites with
   feedback enabled. Lives in a shadow root so the page's CSS and the recorder leave it
   alone; text from the config is set as text, never as HTML. On cookieless sites it
   writes nothing to the device; on persistent sites (after consent where required) it
   remembers in localStorage when it last asked. Never shown under DNT or GPC. */
(function(w,d){
var s=d.currentScript,n=w.navigator,l=w.location;
if(!s||n.globalPrivacyControl||/1|yes/.test(n.doNotTrack+w.doNotTrack))return;
var site=s.dataset.site,o=new URL(s.src,l.href).origin,K='veil_fb',cfg,root,live;
function q(k,v){return k+'='+encodeURIComponent(v)}
fetch(o+'/api/feedback/settings?'+q('site',site)+'&'+q('path',l.pathname)).then(function(r){return r.ok?r.json():null}).then(function(c){
if(!c)return;cfg=c;
if(c.sentiment)tab(c.sentiment);
if(c.nps)plan(c.nps)})['catch'](function(){});

/* First-party memory, only where the site keeps a persistent ID and the person agreed. */
function mem(){try{var t=localStorage;if(!cfg.persistent||cfg.consent&&!t.getItem('veil_id'))return null;return t}catch(x){return null}}
function recall(){var t=mem();try{return t&&JSON.parse(t.getItem(K))||{}}catch(x){return{}}}
function remember(k){var t=mem();if(!t)return;var m=recall();m[k]=Date.now();t.setItem(K,JSON.stringify(m))}

function send(kind,score,comment){
var v=w.veil&&w.veil.visitorId&&w.veil.visitorId(),b={site:site,kind:kind,page:l.href};
if(score!=null)b.score=score;
if(comment)b.comment=comment;
if(v)b.vid=v;
try{fetch(o+'/api/feedback',{method:'POST',body:JSON.stringify(b),keepalive:true})['catch'](function(){})}catch(x){}}

var CSS=':host{all:initial}'+
'*{box-sizing:border-box;font:15px/1.4 system-ui,-apple-system,"Segoe UI",sans-serif}'+
'.c{position:fixed;z-index:2147483000;bottom:16px;width:360px;max-width:calc(100vw - 32px);background:#fff;color:#1d1d1f;border:1px solid #d6d6d2;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.18);padding:14px 16px;animation:in .25s ease-out}'+
'.r{right:16px}.l{left:16px}'+
'@keyframes in{from{transform:translateY(12px);opacity:0}}'+
'p{margin:0 28px 10px 0;font-weight:600}'+
'.s{display:flex;flex-wrap:wrap;gap:4px}'+
'button{cursor:pointer;border:1px solid #c8c8c4;background:#f7f7f5;color:#1d1d1f;border-radius:6px;min-width:28px;min-height:32px;padding:4px 6px}'+
'button:hover,button:focus-visible{border-color:var(--a);outline:2px solid var(--a);outline-offset:1px}'+
'.s button{flex:1 0 24px}'+
'.x{position:absolute;top:8px;right:8px;border:0;background:none;font-size:18px;line-height:1;min-width:28px}'+
'.e{display:flex;justify-content:space-between;font-size:12px;color:#5c5c61;margin-top:4px}'+
'textarea{width:100%;min-height:64px;margin:2px 0 8px;padding:6px;border:1px solid #c8c8c4;border-radius:6px;background:#fff;color:#1d1d1f;font:inherit;resize:vertical}'+
'.go{background:var(--a);border-color:var(--a);color:#fff}'+
'.f button{font-size:22px;min-width:44px}'+
'.t{position:fixed;z-index:2147483000;top:50%;padding:8px 10px;background:var(--a);color:#fff;border:0;border-radius:6px 6px 0 0;transform-origin:center}'+
'.t.r{right:0;transform:translate(38%,-50%) rotate(-90deg)}.t.l{left:0;transform:translate(-38%,-50%) rotate(90deg)}'+
'.t:hover,.t:focus-visible{outline:2px solid #1d1d1f}'+
'@media (prefers-color-scheme:dark){.c{background:#1d1d21;color:#ececee;border-color:#3a3a40}button,textarea{background:#26262b;color:#ececee;border-color:#45454c}.e{color:#a8a8b0}.go{color:#fff}}'+
'@media (max-width:480px){.c{left:0;right:0;bottom:0;width:auto;max-width:none;border-radius:12px 12px 0 0}}'+
'.sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}'+
'@media (prefers-reduced-motion:reduce){.c{animation:none}}';

function el(tag,cls,text){var e=d.createElement(tag);if(cls)e.className=cls;if(text!=null)e.textContent=text;return e}
function host(accent){
if(root)return root;
var h=el('div');h.setAttribute('data-veil-block','');h.setAttribute('data-veil-feedback','');
root=h.attachShadow?h.attachShadow({mode:'open'}):h;
try{var st=new CSSStyleSheet();st.replaceSync(CSS);root.adoptedStyleSheets=[st]}catch(x){root.appendChild(el('style',null,CSS))}
h.style.setProperty('--a',/^#[0-9a-f]{3,6}$/i.test(accent)?accent:'#2563eb');
live=el('div','sr');live.setAttribute('aria-live','polite');
root.appendChild(live);
d.body.appendChild(h);return root}

/* A non-modal card: it takes no focus and blocks nothing; Escape or ✕ closes it. */
function card(side,title,accent,onClose){
var r=host(accent),c=el('div','c '+side),id='veil-fb-'+Math.random().toString(36).slice(2);
c.setAttribute('role','dialog');c.setAttribute('aria-modal','false');c.setAttribute('aria-labelledby',id);
var p=el('p',null,title);p.id=id;
var x=el('button','x','\u00d7');x.setAttribute('aria-label','Close survey');
function close(){c.remove();d.removeEventListener('keydown',esc);onClose&&onClose()}
function esc(e){if(e.key=='Escape')close()}
x.onclick=close;d.addEventListener('keydown',esc);
c.appendChild(x);c.appendChild(p);r.appendChild(c);
return{c:c,p:p,close:close}}

function thanks(k){k.p.textContent='Thank you!';live.textContent='Thank you for your feedback.';
while(k.p.nextSibling)k.p.nextSibling.remove();setTimeout(k.close,2500)}

function follow(k,prompt,done){
if(!prompt){done('');return}
while(k.p.nextSibling)k.p.nextSibling.remove();
k.p.textContent=prompt;
var t=el('textarea');t.setAttribute('aria-label',prompt);t.maxLength=1000;
var b=el('button','go','Send'),skip=el('button',null,'Skip');
b.onclick=function(){done(t.value)};skip.onclick=function(){done('')};
var row=el('div','s');row.appendChild(b);row.appendChild(skip);
k.c.appendChild(t);k.c.appendChild(row);t.focus()}

function plan(c){
var m=recall(),day=864e5;
if(m.asked&&Date.now()-m.asked<c.again*day)return;
if(Math.random()>=c.rate)return;
var shown=0;
function show(){if(shown++)return;nps(c)}
if(c.pageviews>1){
var views=1,h=w.history;
function seen(){if(++views>=c.pageviews)show()}
['pushState','replaceState'].forEach(function(f){var g=h[f];if(g)h[f]=function(){var r=g.apply(this,arguments);if(f=='pushState')seen();return r}});
w.addEventListener('popstate',seen)}
else setTimeout(show,c.delay*1e3)}

function nps(c){
remember('asked');send('nps');
var side=c.position=='bottom-left'?'l':'r',scored=null,sent=0;
function finish(text){if(sent++)return;send('nps',scored,text);remember('answered');thanks(k)}
var k=card(side,c.question,c.accent,function(){if(scored!=null&&!sent){sent=1;send('nps',scored)}});
var g=el('div','s');g.setAttribute('role','group');g.setAttribute('aria-label','Score from 0, not at all likely, to 10, extremely likely');
for(var i=0;i<=10;i++)(function(v){var b=el('button',null,String(v));b.setAttribute('aria-label',v+(v==0?', not at all likely':v==10?', extremely likely':''));
b.onclick=function(){scored=v;live.textContent='Score '+v+' selected.';follow(k,c.followUp,finish)};g.appendChild(b)})(i);
var e=el('div','e');e.appendChild(el('span',null,'Not likely'));e.appendChild(el('span',null,'Very likely'));
k.c.appendChild(g);k.c.appendChild(e)}

var FACES=[['\ud83d\ude1e','Very unhappy'],['\ud83d\ude41','Unhappy'],['\ud83d\ude10','Neutral'],['\ud83d\ude42','Happy'],['\ud83d\ude00','Very happy']];
function tab(c){
var r=host(c.accent),side=c.side=='left'?'l':'r',t=el('button','t '+side,'Feedback'),open=0;
t.setAttribute('aria-label',c.prompt);
t.onclick=function(){
if(open)return;open=1;t.hidden=true;send('sentiment');
var score=null,sent=0;
function finish(text){if(sent++)return;send('sentiment',score,text);thanks(k)}
var k=card(side,c.prompt,c.accent,function(){open=0;t.hidden=false;if(score!=null&&!sent){sent=1;send('sentiment',score)}});
var g=el('div','s f');g.setAttribute('role','group');g.setAttribute('aria-label',c.prompt);
FACES.forEach(function(f,i){var b=el('button',null,f[0]);b.setAttribute('aria-label',f[1]);b.title=f[1];
b.onclick=function(){score=i+1;live.textContent=f[1]+' selected.';follow(k,'Anything you want to add? (optional)',finish)};g.appendChild(b)});
k.c.appendChild(g)};
r.appendChild(t)}
})(window,document);
