/* The opening hours week grid (locations/opening_hours.py). Without this script the grid
   still works: every day has one empty period to type into. With it, "+ period" adds more,
   "Copy to Tue–Fri" copies Monday, and the week is greyed out unless "Regular hours" is
   chosen. */
(function () {
  "use strict";

  function addPeriod(list) {
    var periods = list.querySelectorAll(".ocpi-period");
    var copy = periods[periods.length - 1].cloneNode(true);
    copy.classList.remove("ocpi-has-error");
    copy.querySelectorAll(".ocpi-cell-error").forEach(function (e) { e.remove(); });
    copy.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    list.appendChild(copy);
    return copy;
  }

  function setPeriods(list, values) {
    list.querySelectorAll(".ocpi-period").forEach(function (p, i) { if (i > 0) p.remove(); });
    var first = list.querySelector(".ocpi-period");
    first.querySelectorAll("input").forEach(function (input) { input.value = ""; });
    values.forEach(function (pair, i) {
      var period = i === 0 ? first : addPeriod(list);
      var inputs = period.querySelectorAll("input");
      inputs[0].value = pair[0];
      inputs[1].value = pair[1];
    });
    addPeriod(list);
  }

  function init(grid) {
    if (grid.dataset.ready) return;
    grid.dataset.ready = "1";
    grid.querySelectorAll(".ocpi-add-period, .ocpi-copy-weekdays").forEach(function (b) {
      b.hidden = false;
    });
    grid.querySelectorAll(".ocpi-add-period").forEach(function (button) {
      button.addEventListener("click", function () {
        var list = button.parentElement.querySelector(".ocpi-periods");
        addPeriod(list).querySelector("input").focus();
      });
    });
    var copyButton = grid.querySelector(".ocpi-copy-weekdays");
    if (copyButton) {
      copyButton.addEventListener("click", function () {
        var monday = [];
        grid.querySelectorAll('tr[data-weekday="1"] .ocpi-period').forEach(function (p) {
          var inputs = p.querySelectorAll("input");
          if (inputs[0].value || inputs[1].value) monday.push([inputs[0].value, inputs[1].value]);
        });
        [2, 3, 4, 5].forEach(function (weekday) {
          setPeriods(grid.querySelector('tr[data-weekday="' + weekday + '"] .ocpi-periods'), monday);
        });
      });
    }
    function showMode() {
      var checked = grid.querySelector(".ocpi-hours-mode input:checked");
      grid.classList.toggle("ocpi-hours-regular", !!checked && checked.value === "hours");
      grid.classList.toggle("ocpi-hours-unset", !!checked && checked.value === "unset");
    }
    grid.querySelectorAll(".ocpi-hours-mode input").forEach(function (r) {
      r.addEventListener("change", showMode);
    });
    showMode();
  }

  function initAll(root) {
    (root || document).querySelectorAll(".ocpi-hours").forEach(init);
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", function () { initAll(); });
  } else {
    initAll();
  }
})();
