window.veil=window.veil||(function(q){function f(m){return function(){q.push([m].concat([].slice.call(arguments)))}}return{q:q,c:1,track:f('track'),identify:f('identify'),consent:f('consent')}})([]);
