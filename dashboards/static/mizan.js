/* mizan.js - small conveniences; every page works without it.  No inline
 * handlers anywhere (the Content-Security-Policy allows only this file). */
(function () {
	'use strict';
	document.addEventListener('DOMContentLoaded', function () {
		/* A change of period or breakdown shows it at once. */
		var selects = document.querySelectorAll('form#period select, form#breakdown select, form#report-select select');
		Array.prototype.forEach.call(selects, function (s) {
			s.addEventListener('change', function () { s.form.submit(); });
		});
		var print = document.getElementById('print');
		if (print)
			print.addEventListener('click', function () { window.print(); });
	});
})();
