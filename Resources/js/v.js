(function(w,d){
var s=d.currentScript,n=w.navigator,l=w.location;
if(!s)return;
var a=s.dataset,
site=a.site||l.hostname,
o=new URL(s.src,l.href).origin,api=a.api||o+'/api/event',
dnt=a.honorDnt!='false',gpc=a.honorGpc!='false',ref=d.referrer,last,uid,
keep=a.identity=='persistent',ask=a.consent!='not_required',K='veil_id';
function off(){
return gpc&&n.globalPrivacyControl||dnt&&/1|yes/.test(n.doNotTrack+w.doNotTrack)||l.protocol=='file:'}
function id(){var b=new Uint8Array(16),h='',i;crypto.getRandomValues(b);for(i=0;i<16;i++)h+=(b[i]+256).toString(16).slice(1);return h}
function store(){try{return localStorage}catch(x){}}
function vid(make){var t=keep&&store(),v=t&&t.getItem(K);if(!v&&t&&make&&!off()){v=id();t.setItem(K,v)}return v||null}
function send(name,props){
if(off())return;
var e={site:site,name:String(name),url:l.href,id:id(),w:screen.width,l:n.language},v=vid(!ask);
if(ref&&name=='pageview'){e.referrer=ref;ref=''}
if(props&&typeof props=='object')e.props=props;
if(v)e.vid=v;
if(keep&&uid)e.uid=uid;
var b=JSON.stringify(e);
try{if(n.sendBeacon&&n.sendBeacon(api,b))return}catch(x){}
try{fetch(api,{method:'POST',body:b,keepalive:1}).catch(function(){})}catch(x){}}
function page(){var p=l.pathname+l.search;if(p===last)return;last=p;send('pageview')}
var h=w.history;
['pushState','replaceState'].forEach(function(m){var o=h[m];if(o)h[m]=function(){var r=o.apply(this,arguments);page();return r}});
w.addEventListener('popstate',page);
var old=w.veil||{},q=old.q||[];
w.veil={q:[],
track:function(name,props){send(name,props)},
identify:function(u){uid=u==null?uid:String(u)},
visitorId:function(){return vid(0)},
consent:function(yes){var t=keep&&store();if(!t)return;if(yes)vid(1);else t.removeItem(K)}};
function run(t){for(var i=0;i<q.length;i++){var c=q[i],m=old.c?c[0]:'track',f=w.veil[m];if(f&&(m=='track')==t)f.apply(0,old.c?c.slice(1):c)}}
run(0);page();run(1);
function ld(f,x){x=d.createElement('script');x.src=o+f;x.dataset.site=site;s.after(x)}
a.autocapture&&ld('/va.js');
off()||a.feedback&&ld('/vf.js');
(!off()&&Math.random()<a.replay||/veil-pick/.test(l.hash))&&ld('/vr.js')
})(window,document);
