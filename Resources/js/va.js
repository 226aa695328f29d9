/* Veil click autocapture, loaded by v.js for sites with autocapture on. Records the
   element's tag, id, classes, link path and a short CSS path; its text only when the
   element opts in with data-veil-text. Never input values. */
(function(w,d){
function css(el){var p=[],n=0,s,c;while(el&&el.nodeType==1&&el!=d.body&&n<4){s=el.tagName.toLowerCase();if(el.id){p.unshift(s+'#'+el.id);break}
c=(el.getAttribute('class')||'').trim().split(/\s+/).filter(Boolean).slice(0,2);if(c.length)s+='.'+c.join('.');p.unshift(s);el=el.parentElement;n++}return p.join(' > ')}
d.addEventListener('click',function(ev){
var t=ev.target,el=t&&t.closest&&t.closest('a,button,[data-veil-event],input[type=submit],input[type=button]');
if(!el||!w.veil)return;
var p={tag:el.tagName.toLowerCase()},c=(el.getAttribute('class')||'').trim(),u;
if(el.id)p.id=el.id.slice(0,100);
if(c)p.classes=c.slice(0,200);
if(el.href){try{u=new URL(el.href);p.href=u.host==location.host?u.pathname:u.host+u.pathname}catch(x){}}
p.path=css(el).slice(0,300);
if(el.hasAttribute('data-veil-text'))p.text=(el.textContent||'').trim().slice(0,100);
w.veil.track(el.getAttribute('data-veil-event')||'$click',p)},true)
})(window,document);
