"use strict";
// pmuprof flame graph: click to zoom, Ctrl-F or "Search" to highlight a regex, "ic" to
// toggle case; the zoom and the search are kept in the URL (?x=&y=&s=&i=).
var svg, frames, details, unzoombtn, searchbtn, matchedtxt, icbtn;
var searching = null, ignorecase = false, zoomed = null;
// fg_config (fontsize, fontwidth, xpad, fullwidth, nametype) is written before this script.
var fontsize = fg_config.fontsize, fontwidth = fg_config.fontwidth, xpad = fg_config.xpad;
var fullwidth = fg_config.fullwidth;

function init(evt) {
	svg = document.documentElement;
	details = document.getElementById("details").firstChild;
	unzoombtn = document.getElementById("unzoom");
	searchbtn = document.getElementById("search");
	matchedtxt = document.getElementById("matched");
	icbtn = document.getElementById("ignorecase");
	frames = document.getElementById("frames");
	var gs = frames.getElementsByTagName("g");
	for (var i = 0; i < gs.length; i++) {
		var r = gs[i].getElementsByTagName("rect")[0];
		gs[i]._x = parseFloat(r.getAttribute("x"));
		gs[i]._w = parseFloat(r.getAttribute("width"));
		gs[i]._d = parseInt(gs[i].getAttribute("data-d"), 10);
		gs[i]._name = gs[i].getAttribute("data-n");
		gs[i]._fill = r.getAttribute("fill");
	}
	var params = new URLSearchParams(window.location.search);
	if (params.get("i") === "1") toggle_ignorecase(true);
	if (params.get("x") !== null && params.get("y") !== null) {
		var x = parseFloat(params.get("x")), d = parseInt(params.get("y"), 10);
		for (var j = 0; j < gs.length; j++)
			if (gs[j]._d === d && Math.abs(gs[j]._x - x) < 0.05) { zoom(gs[j]); break; }
	}
	if (params.get("s")) search(params.get("s"));
}

function update_url() {
	var params = new URLSearchParams(window.location.search);
	["x", "y", "s", "i"].forEach(function (k) { params.delete(k); });
	if (zoomed) { params.set("x", zoomed._x.toFixed(1)); params.set("y", zoomed._d); }
	if (searching) params.set("s", searching);
	if (ignorecase) params.set("i", "1");
	var q = params.toString();
	history.replaceState(null, null, window.location.pathname + (q ? "?" + q : ""));
}

function frame_of(e) {
	while (e && e.parentNode !== frames) e = e.parentNode;
	return e;
}

window.addEventListener("click", function (e) {
	var g = frame_of(e.target);
	if (g) {
		zoom(g);
		return;
	}
	if (e.target.id === "unzoom" || (e.target.parentNode && e.target.parentNode.id === "unzoom"))
		unzoom();
	else if (e.target.id === "search" || (e.target.parentNode && e.target.parentNode.id === "search"))
		search_prompt();
	else if (e.target.id === "ignorecase")
		toggle_ignorecase();
});
window.addEventListener("mouseover", function (e) {
	var g = frame_of(e.target);
	if (g) details.nodeValue = fg_config.nametype + " " + g.getElementsByTagName("title")[0].textContent;
});
window.addEventListener("mouseout", function (e) {
	if (frame_of(e.target)) details.nodeValue = " ";
});
window.addEventListener("keydown", function (e) {
	if (e.keyCode === 114 || ((e.ctrlKey || e.metaKey) && e.keyCode === 70)) {
		e.preventDefault();
		search_prompt();
	} else if (e.ctrlKey && e.keyCode === 73) {
		e.preventDefault();
		toggle_ignorecase();
	} else if (e.keyCode === 27) {
		reset_search();
	}
});

function label(g, w) {
	var t = g.getElementsByTagName("text")[0];
	var chars = Math.floor(w / (fontsize * fontwidth));
	var name = g._name;
	if (chars < 3) t.textContent = "";
	else if (name.length > chars) t.textContent = name.substring(0, chars - 2) + "..";
	else t.textContent = name;
}

function place(g, x, w) {
	var r = g.getElementsByTagName("rect")[0], t = g.getElementsByTagName("text")[0];
	r.setAttribute("x", x);
	r.setAttribute("width", w);
	t.setAttribute("x", x + 3);
	label(g, w);
}

function zoom(node) {
	var x0 = node._x, w0 = node._w, d0 = node._d, ratio = fullwidth / w0;
	var gs = frames.getElementsByTagName("g");
	for (var i = 0; i < gs.length; i++) {
		var g = gs[i];
		g.classList.remove("hide");
		g.classList.remove("parent");
		if (g._d < d0) {
			// ancestors span the whole width; everything else at their depth goes
			if (g._x <= x0 + 0.0001 && g._x + g._w >= x0 + w0 - 0.0001) {
				g.classList.add("parent");
				place(g, xpad, fullwidth);
			} else {
				g.classList.add("hide");
			}
		} else if (g._x >= x0 - 0.0001 && g._x + g._w <= x0 + w0 + 0.0001) {
			place(g, xpad + (g._x - x0) * ratio, g._w * ratio);
		} else {
			g.classList.add("hide");
		}
	}
	zoomed = node;
	unzoombtn.classList.remove("hide");
	if (searching) search(searching);
	update_url();
}

function unzoom() {
	var gs = frames.getElementsByTagName("g");
	for (var i = 0; i < gs.length; i++) {
		gs[i].classList.remove("hide");
		gs[i].classList.remove("parent");
		place(gs[i], gs[i]._x, gs[i]._w);
	}
	zoomed = null;
	unzoombtn.classList.add("hide");
	if (searching) search(searching);
	update_url();
}

function toggle_ignorecase(quiet) {
	ignorecase = !ignorecase;
	icbtn.classList.toggle("show", ignorecase);
	if (searching) search(searching);
	if (quiet !== true) update_url();
}

function search_prompt() {
	if (searching) { reset_search(); return; }
	var term = prompt("Search for (regular expression):" +
		(ignorecase ? " (case insensitive: ctrl-i to toggle)" : ""), "");
	if (term) search(term);
}

function reset_search() {
	var gs = frames.getElementsByTagName("g");
	for (var i = 0; i < gs.length; i++)
		gs[i].getElementsByTagName("rect")[0].setAttribute("fill", gs[i]._fill);
	searching = null;
	searchbtn.classList.remove("show");
	searchbtn.firstChild.nodeValue = "Search";
	matchedtxt.classList.add("hide");
	update_url();
}

function search(term) {
	var re;
	try { re = new RegExp(term, ignorecase ? "i" : ""); } catch (e) { return; }
	var gs = frames.getElementsByTagName("g"), spans = [], total = 0;
	for (var i = 0; i < gs.length; i++) {
		var g = gs[i], r = g.getElementsByTagName("rect")[0];
		if (g._d === 0) total = g._w;
		if (re.test(g._name)) {
			r.setAttribute("fill", "rgb(230,0,230)");
			spans.push([g._x, g._x + g._w]);
		} else {
			r.setAttribute("fill", g._fill);
		}
	}
	// The matched share: the union of the matching frames' extents (a match inside
	// another match is not counted twice), within the zoomed frame when zoomed.
	var lo = zoomed ? zoomed._x : -Infinity, hi = zoomed ? zoomed._x + zoomed._w : Infinity;
	spans.sort(function (a, b) { return a[0] - b[0]; });
	var covered = 0, end = -Infinity;
	spans.forEach(function (s) {
		var a = Math.max(s[0], lo, end), b = Math.min(s[1], hi);
		if (b > a) { covered += b - a; end = b; }
	});
	var base = zoomed ? zoomed._w : total;
	searching = term;
	searchbtn.classList.add("show");
	searchbtn.firstChild.nodeValue = "Reset Search";
	matchedtxt.classList.remove("hide");
	matchedtxt.firstChild.nodeValue = "Matched: " + (base ? (100 * covered / base).toFixed(1) : "0.0") + "%";
	update_url();
}
