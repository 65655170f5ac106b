/* The coordinates widget's map (locations/form_fields.py, CoordinatesWidget(with_map=True)).
 *
 * A click on the map or a dragged pin writes latitude and longitude with 6 decimals (OCPI
 * 2.2.1, Locations module, GeoLocation class: 5 to 7 decimals; 6 always fits string(10) and
 * string(11)); typing valid coordinates moves the pin. Tiles come from the URL in
 * data-tiles-url; when it is empty or no tile loads (no internet access), the map says so and
 * shows a 10° grid: the pin still works. */
(function () {
  "use strict";

  var LIMITS = {latitude: 90, longitude: 180};
  var NUMBER = /^-?[0-9]{1,3}(\.[0-9]+)?$/;

  function parse(text, name) {
    text = (text || "").trim();
    if (!NUMBER.test(text)) return null;
    var value = parseFloat(text);
    return Math.abs(value) <= LIMITS[name] ? value : null;
  }

  function graticule(map) {
    var style = {color: "#8a9ba8", weight: 1, opacity: 0.6, interactive: false};
    for (var lat = -80; lat <= 80; lat += 10) L.polyline([[lat, -180], [lat, 180]], style).addTo(map);
    for (var lon = -180; lon <= 180; lon += 10) L.polyline([[-85, lon], [85, lon]], style).addTo(map);
  }

  // Shared with the map of all Locations (locations_map.js).
  window.ocpiMapTiles = function (map, element, status) {
    var url = element.getAttribute("data-tiles-url");
    var unavailable = function (why) {
      element.classList.add("ocpi-map-no-tiles");
      status.textContent = why;
      status.classList.add("ocpi-map-warning");
      if (!element.ocpiGraticule) {
        element.ocpiGraticule = true;
        graticule(map);
      }
    };
    if (!url) {
      unavailable("Map tiles are turned off (OCPI_MAP_TILES_URL is empty): no streets are " +
        "shown, but the map still works.");
      return;
    }
    var loaded = 0;
    var layer = L.tileLayer(url, {
      maxZoom: 19,
      attribution: element.getAttribute("data-tiles-attribution") || ""
    });
    layer.on("tileload", function () { loaded += 1; });
    layer.on("tileerror", function () {
      if (!loaded) {
        unavailable("Map tiles are unavailable (the tile server cannot be reached): no " +
          "streets are shown, but the map still works.");
      }
    });
    layer.addTo(map);
  };

  function init(container) {
    var inputs = container.querySelectorAll(".ocpi-coordinates-inputs input");
    var latitude = inputs[0], longitude = inputs[1];
    var element = container.querySelector(".ocpi-map");
    var status = container.querySelector(".ocpi-map-status");
    var map = L.map(element, {worldCopyJump: true}).setView([50, 10], 4);
    window.ocpiMapTiles(map, element, status);
    var marker = null;

    // The inputs get the point with 6 decimals, and the pin goes to exactly that point (what
    // is saved is where the pin is).
    function write(latlng) {
      latlng = latlng.wrap();
      latitude.value = latlng.lat.toFixed(6);
      longitude.value = latlng.lng.toFixed(6);
      place([parseFloat(latitude.value), parseFloat(longitude.value)]);
      // Other scripts (and the admin's "unsaved changes" checks) see a typed change.
      latitude.dispatchEvent(new Event("change", {bubbles: true}));
      longitude.dispatchEvent(new Event("change", {bubbles: true}));
    }

    function place(latlng) {
      if (marker) {
        marker.setLatLng(latlng);
        return;
      }
      marker = L.marker(latlng, {draggable: true, title: "Drag to move", autoPan: true});
      marker.on("dragend", function () { write(marker.getLatLng()); });
      marker.addTo(map);
      container.ocpiMarker = marker;
    }

    function fromInputs(zoom) {
      var lat = parse(latitude.value, "latitude");
      var lon = parse(longitude.value, "longitude");
      if (lat === null || lon === null) return false;
      place([lat, lon]);
      map.setView([lat, lon], zoom ? 16 : map.getZoom());
      return true;
    }

    map.on("click", function (event) { write(event.latlng); });
    [latitude, longitude].forEach(function (input) {
      input.addEventListener("input", function () { fromInputs(false); });
    });
    fromInputs(true);
    // The map may be laid out after the page (a collapsed fieldset): size it when shown.
    setTimeout(function () { map.invalidateSize(); }, 0);
    container.ocpiMap = map; // (and container.ocpiMarker: for scripts and browser tests)
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-coordinates-map]").forEach(init);
  });
})();
