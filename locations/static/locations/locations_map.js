/* The map of all Locations (locations/admin/maps.py): fetches the Locations of the current
 * view as JSON (locations/map_data.py) after every move, draws one dot per Location in its
 * availability colour. Tiles: window.ocpiMapTiles (coordinates_map.js). */
(function () {
  "use strict";

  var COLOURS = {available: "#2e9d48", occupied: "#c62828", out_of_service: "#9e9e9e"};

  function escape(text) {
    var span = document.createElement("span");
    span.textContent = text;
    return span.innerHTML;
  }

  document.addEventListener("DOMContentLoaded", function () {
    var element = document.getElementById("locations-map");
    if (!element) return;
    var status = document.getElementById("locations-map-status");
    var tileStatus = document.createElement("p");
    tileStatus.className = "ocpi-map-status";
    element.parentNode.insertBefore(tileStatus, status);
    var map = L.map(element, {preferCanvas: true, worldCopyJump: true});
    var extent = element.getAttribute("data-extent");
    if (extent) {
      map.fitBounds(JSON.parse(extent), {padding: [20, 20], maxZoom: 15});
    } else {
      map.setView([50, 10], 4);
    }
    window.ocpiMapTiles(map, element, tileStatus);
    var dots = L.layerGroup().addTo(map);
    var request = 0;

    function load() {
      var mine = ++request;
      var url = element.getAttribute("data-url") + "?bbox=" + map.getBounds().toBBoxString();
      fetch(url, {credentials: "same-origin", headers: {Accept: "application/json"}})
        .then(function (response) {
          if (!response.ok) throw new Error("HTTP " + response.status);
          return response.json();
        })
        .then(function (data) {
          if (mine !== request) return; // a later move has its own answer
          dots.clearLayers();
          data.locations.forEach(function (loc) {
            L.circleMarker([loc.latitude, loc.longitude], {
              radius: 7, weight: 1, color: "#333", fillOpacity: 0.9,
              fillColor: COLOURS[loc.availability]
            }).bindPopup(
              "<strong>" + escape(loc.party + "*" + loc.id) + "</strong><br>" +
              escape(loc.name || "") + "<br>" + loc.available + " of " + loc.evses +
              " EVSEs available<br><a href=\"" + loc.url + "\">Open the Location</a>"
            ).addTo(dots);
          });
          var shown = data.locations.length;
          status.textContent = data.truncated
            ? "Showing the first " + shown + " Locations of this view: zoom in to see them all."
            : shown + " Location" + (shown === 1 ? "" : "s") + " in this view.";
          element.setAttribute("data-loaded", String(shown));
        })
        .catch(function (error) {
          status.textContent = "The Locations could not be loaded (" + error.message + ").";
        });
    }

    map.on("moveend", load);
    load();
  });
})();
