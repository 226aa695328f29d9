window.veil=window.veil||{q:[],track:function(n,p){this.q.push([n,p])}};
