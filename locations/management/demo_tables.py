"""The tables the demo sites are drawn from (`demo_data.DemoSiteFactory`): countries with
their cities and streets, owners, energy suppliers, site kinds and their facilities, EVSE
ratings and statuses.
"""

from dataclasses import dataclass
from datetime import UTC, datetime

from locations.enums import (
    Capability,
    Facility,
    ParkingType,
    Status,
)


@dataclass(frozen=True)
class Country:
    alpha3: str
    alpha2: str
    time_zone: str
    language: str
    # (city, state, latitude, longitude): a point well inside the country; sites are spread
    # up to ~3 km around it so that every coordinate stays within the country.
    cities: tuple[tuple[str, str, float, float], ...]
    streets: tuple[str, ...]
    postal_code: str  # format spec: 9 = digit, A = capital letter


COUNTRIES = (
    Country(
        "NLD", "NL", "Europe/Amsterdam", "nl",
        (
            ("Amsterdam", "", 52.3676, 4.9041), ("Rotterdam", "", 51.9244, 4.4777),
            ("Utrecht", "", 52.0907, 5.1214), ("Den Haag", "", 52.0705, 4.3007),
            ("Eindhoven", "", 51.4416, 5.4697), ("Groningen", "", 53.2194, 6.5665),
            ("Arnhem", "", 51.9851, 5.8987), ("Zwolle", "", 52.5168, 6.0830),
        ),
        ("Stationsplein", "Kerkstraat", "Dorpsstraat", "Marktplein", "Industrieweg",
         "Parallelweg", "Julianalaan", "Beatrixlaan"),
        "9999 AA",
    ),
    Country(
        "DEU", "DE", "Europe/Berlin", "de",
        (
            ("Berlin", "Berlin", 52.5200, 13.4050), ("Hamburg", "Hamburg", 53.5511, 9.9937),
            ("München", "Bayern", 48.1351, 11.5820),
            ("Köln", "Nordrhein-Westfalen", 50.9375, 6.9603),
            ("Frankfurt am Main", "Hessen", 50.1109, 8.6821),
            ("Stuttgart", "Baden-Württemberg", 48.7758, 9.1829),
            ("Leipzig", "Sachsen", 51.3397, 12.3731),
            ("Hannover", "Niedersachsen", 52.3759, 9.7320),
        ),
        ("Bahnhofstraße", "Hauptstraße", "Schulstraße", "Gartenstraße", "Industriestraße",
         "Am Markt", "Lindenallee"),
        "99999",
    ),
    Country(
        "BEL", "BE", "Europe/Brussels", "nl",
        (
            ("Antwerpen", "", 51.2194, 4.4025), ("Gent", "", 51.0543, 3.7174),
            ("Bruxelles", "", 50.8503, 4.3517), ("Leuven", "", 50.8798, 4.7005),
            ("Brugge", "", 51.2093, 3.2247),
        ),
        ("Stationsstraat", "Kerkstraat", "Grote Markt", "Rue de la Gare", "Nieuwstraat"),
        "9999",
    ),
    Country(
        "FRA", "FR", "Europe/Paris", "fr",
        (
            ("Paris", "Île-de-France", 48.8566, 2.3522),
            ("Lille", "Hauts-de-France", 50.6292, 3.0573),
            ("Lyon", "Auvergne-Rhône-Alpes", 45.7640, 4.8357),
            ("Strasbourg", "Grand Est", 48.5734, 7.7521),
        ),
        ("Rue de la Gare", "Avenue de la République", "Place du Marché", "Rue Victor Hugo"),
        "99999",
    ),
    Country(
        "LUX", "LU", "Europe/Luxembourg", "fr",
        (("Luxembourg", "", 49.6116, 6.1319), ("Esch-sur-Alzette", "", 49.4958, 5.9806)),
        ("Rue de la Gare", "Avenue de la Liberté", "Grand-Rue"),
        "L-9999",
    ),
)  # fmt: skip

DIRECTIONS = {
    "nl": "Volg de borden naar de laadplekken.",
    "de": "Den Schildern zu den Ladeplätzen folgen.",
    "fr": "Suivez les panneaux vers les bornes de recharge.",
    "en": "Follow the signs to the charging bays.",
}
OWNERS = ("Municipality Parking Services", "Hotel Group Europa", "City Mall Real Estate",
          "Fresh Market Supermarkets", "Motorway Services AG", "Green Office Park BV")  # fmt: skip
SUPPLIERS = (("Windkracht Energie", "100% Wind NL"), ("SolarGrid", "Sunshine Green"),
             ("Stadtwerke Mix", "Standard Mix"))  # fmt: skip

# Weighted choices: (value, weight).
SITE_KINDS = (("ac_street", 45), ("ac_destination", 25), ("dc_hub", 20), ("mixed", 10))
STATUSES = (
    (Status.AVAILABLE, 55), (Status.CHARGING, 22), (Status.OUTOFORDER, 4),
    (Status.INOPERATIVE, 3), (Status.BLOCKED, 2), (Status.RESERVED, 2), (Status.UNKNOWN, 6),
    (Status.PLANNED, 5), (Status.REMOVED, 1),
)  # fmt: skip
PARKING = {
    "ac_street": (ParkingType.ON_STREET, ParkingType.PARKING_LOT, ParkingType.ON_DRIVEWAY),
    "ac_destination": (
        ParkingType.PARKING_GARAGE,
        ParkingType.UNDERGROUND_GARAGE,
        ParkingType.PARKING_LOT,
    ),
    "dc_hub": (ParkingType.ALONG_MOTORWAY, ParkingType.PARKING_LOT),
    "mixed": (ParkingType.PARKING_LOT, ParkingType.PARKING_GARAGE),
}
FACILITIES = {
    "ac_street": (Facility.BUS_STOP, Facility.TRAM_STOP, Facility.CAFE, Facility.SUPERMARKET,
                  Facility.PARKING_LOT, Facility.NATURE, Facility.BIKE_SHARING),
    "ac_destination": (Facility.HOTEL, Facility.MALL, Facility.RESTAURANT, Facility.MUSEUM,
                       Facility.SPORT, Facility.WIFI, Facility.SUPERMARKET),
    "dc_hub": (Facility.FUEL_STATION, Facility.RESTAURANT, Facility.CAFE, Facility.WIFI,
               Facility.RECREATION_AREA),
    "mixed": (Facility.TRAIN_STATION, Facility.AIRPORT, Facility.CARPOOL_PARKING,
              Facility.METRO_STATION, Facility.TAXI_STAND, Facility.MALL),
}  # fmt: skip
# DC ratings (volts, amperes, max_electric_power in W), each power ≤ volts × amperes.
DC_RATINGS = ((400, 125, 50_000), (500, 200, 100_000), (920, 400, 150_000),
              (800, 375, 300_000), (920, 500, 350_000))  # fmt: skip
EXTRA_CAPABILITIES = (
    Capability.CHARGING_PROFILE_CAPABLE, Capability.CONTACTLESS_CARD_SUPPORT,
    Capability.CREDIT_CARD_PAYABLE, Capability.DEBIT_CARD_PAYABLE, Capability.RESERVABLE,
    Capability.UNLOCK_CAPABLE, Capability.TOKEN_GROUP_CAPABLE,
)  # fmt: skip
EPOCH = datetime(2027, 1, 1, tzinfo=UTC)  # fixed, so that a seed always gives the same data
