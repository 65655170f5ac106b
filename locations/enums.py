"""The twelve OCPI 2.2.1 enums of the Locations module, values exact, with readable labels.

OCPI 2.2.1, Locations module, 8.4 Data types; TokenType is from the Tokens module.
The value is what is stored, served and pushed; the label is only what the admin shows
(checked by hand against the spec's descriptions; tests/locations/test_enums.py).
"""

from django.db import models


class Capability(models.TextChoices):
    CHARGING_PROFILE_CAPABLE = "CHARGING_PROFILE_CAPABLE", "Charging profiles (smart charging)"
    CHARGING_PREFERENCES_CAPABLE = "CHARGING_PREFERENCES_CAPABLE", "Charging preferences"
    CHIP_CARD_SUPPORT = "CHIP_CARD_SUPPORT", "Payment terminal: chip card"
    CONTACTLESS_CARD_SUPPORT = "CONTACTLESS_CARD_SUPPORT", "Payment terminal: contactless card"
    CREDIT_CARD_PAYABLE = "CREDIT_CARD_PAYABLE", "Credit card payable"
    DEBIT_CARD_PAYABLE = "DEBIT_CARD_PAYABLE", "Debit card payable"
    PED_TERMINAL = "PED_TERMINAL", "Payment terminal: PIN pad"
    REMOTE_START_STOP_CAPABLE = "REMOTE_START_STOP_CAPABLE", "Remote start and stop"
    RESERVABLE = "RESERVABLE", "Reservable"
    RFID_READER = "RFID_READER", "RFID reader"
    START_SESSION_CONNECTOR_REQUIRED = (
        "START_SESSION_CONNECTOR_REQUIRED",
        "StartSession needs a connector id",
    )
    TOKEN_GROUP_CAPABLE = (
        "TOKEN_GROUP_CAPABLE",
        "Token groups (start and stop with different tokens)",
    )
    UNLOCK_CAPABLE = "UNLOCK_CAPABLE", "Remote unlock of connectors"


class ConnectorFormat(models.TextChoices):
    SOCKET = "SOCKET", "Socket"
    CABLE = "CABLE", "Cable attached"


class ConnectorType(models.TextChoices):
    CHADEMO = "CHADEMO", "CHAdeMO"
    CHAOJI = "CHAOJI", "ChaoJi"
    DOMESTIC_A = "DOMESTIC_A", "Domestic type A (NEMA 1-15, 2 pins)"
    DOMESTIC_B = "DOMESTIC_B", "Domestic type B (NEMA 5-15, 3 pins)"
    DOMESTIC_C = "DOMESTIC_C", "Domestic type C (CEE 7/17, 2 pins)"
    DOMESTIC_D = "DOMESTIC_D", "Domestic type D (3 pins)"
    DOMESTIC_E = "DOMESTIC_E", "Domestic type E (CEE 7/5, 3 pins)"
    DOMESTIC_F = "DOMESTIC_F", "Domestic type F (CEE 7/4 Schuko, 3 pins)"
    DOMESTIC_G = "DOMESTIC_G", "Domestic type G (BS 1363, 3 pins)"
    DOMESTIC_H = "DOMESTIC_H", "Domestic type H (SI 32, 3 pins)"
    DOMESTIC_I = "DOMESTIC_I", "Domestic type I (AS 3112, 3 pins)"
    DOMESTIC_J = "DOMESTIC_J", "Domestic type J (SEV 1011, 3 pins)"
    DOMESTIC_K = "DOMESTIC_K", "Domestic type K (DS 60884-2-D1, 3 pins)"
    DOMESTIC_L = "DOMESTIC_L", "Domestic type L (CEI 23-16-VII, 3 pins)"
    DOMESTIC_M = "DOMESTIC_M", "Domestic type M (BS 546, 3 pins)"
    DOMESTIC_N = "DOMESTIC_N", "Domestic type N (NBR 14136, 3 pins)"
    DOMESTIC_O = "DOMESTIC_O", "Domestic type O (TIS 166-2549, 3 pins)"
    GBT_AC = "GBT_AC", "GB/T AC (GB/T 20234.2)"
    GBT_DC = "GBT_DC", "GB/T DC (GB/T 20234.3)"
    # Mixed case is the spec's own spelling; enums are case-sensitive.
    IEC_60309_2_single_16 = "IEC_60309_2_single_16", "IEC 60309-2 industrial, 1-phase 16 A (blue)"
    IEC_60309_2_three_16 = "IEC_60309_2_three_16", "IEC 60309-2 industrial, 3-phase 16 A (red)"
    IEC_60309_2_three_32 = "IEC_60309_2_three_32", "IEC 60309-2 industrial, 3-phase 32 A (red)"
    IEC_60309_2_three_64 = "IEC_60309_2_three_64", "IEC 60309-2 industrial, 3-phase 64 A (red)"
    IEC_62196_T1 = "IEC_62196_T1", "IEC 62196 Type 1 (SAE J1772)"
    IEC_62196_T1_COMBO = "IEC_62196_T1_COMBO", "IEC 62196 Type 1 Combo (CCS1)"
    IEC_62196_T2 = "IEC_62196_T2", "IEC 62196 Type 2"
    IEC_62196_T2_COMBO = "IEC_62196_T2_COMBO", "IEC 62196 Type 2 Combo (CCS2)"
    IEC_62196_T3A = "IEC_62196_T3A", "IEC 62196 Type 3A"
    IEC_62196_T3C = "IEC_62196_T3C", "IEC 62196 Type 3C (Scame)"
    NEMA_5_20 = "NEMA_5_20", "NEMA 5-20, 3 pins"
    NEMA_6_30 = "NEMA_6_30", "NEMA 6-30, 3 pins"
    NEMA_6_50 = "NEMA_6_50", "NEMA 6-50, 3 pins"
    NEMA_10_30 = "NEMA_10_30", "NEMA 10-30, 3 pins"
    NEMA_10_50 = "NEMA_10_50", "NEMA 10-50, 3 pins"
    NEMA_14_30 = "NEMA_14_30", "NEMA 14-30, 3 pins, 30 A"
    NEMA_14_50 = "NEMA_14_50", "NEMA 14-50, 3 pins, 50 A"
    PANTOGRAPH_BOTTOM_UP = "PANTOGRAPH_BOTTOM_UP", "Pantograph, bottom-up (on the vehicle)"
    PANTOGRAPH_TOP_DOWN = "PANTOGRAPH_TOP_DOWN", "Pantograph, top-down (on the station)"
    TESLA_R = "TESLA_R", "Tesla Roadster (round, 4 pins)"
    TESLA_S = "TESLA_S", "Tesla Model S (oval, 5 pins)"


class EnergySourceCategory(models.TextChoices):
    NUCLEAR = "NUCLEAR", "Nuclear"
    GENERAL_FOSSIL = "GENERAL_FOSSIL", "Fossil (unspecified)"
    COAL = "COAL", "Coal"
    GAS = "GAS", "Gas"
    GENERAL_GREEN = "GENERAL_GREEN", "Green (unspecified)"
    SOLAR = "SOLAR", "Solar"
    WIND = "WIND", "Wind"
    WATER = "WATER", "Water (hydro)"


class EnvironmentalImpactCategory(models.TextChoices):
    NUCLEAR_WASTE = "NUCLEAR_WASTE", "Nuclear waste"
    CARBON_DIOXIDE = "CARBON_DIOXIDE", "Carbon dioxide (CO₂)"


class Facility(models.TextChoices):
    HOTEL = "HOTEL", "Hotel"
    RESTAURANT = "RESTAURANT", "Restaurant"
    CAFE = "CAFE", "Café"
    MALL = "MALL", "Shopping mall"
    SUPERMARKET = "SUPERMARKET", "Supermarket"
    SPORT = "SPORT", "Sport facilities"
    RECREATION_AREA = "RECREATION_AREA", "Recreation area"
    NATURE = "NATURE", "Nature"
    MUSEUM = "MUSEUM", "Museum"
    BIKE_SHARING = "BIKE_SHARING", "Bike sharing"
    BUS_STOP = "BUS_STOP", "Bus stop"
    TAXI_STAND = "TAXI_STAND", "Taxi stand"
    TRAM_STOP = "TRAM_STOP", "Tram stop"
    METRO_STATION = "METRO_STATION", "Metro station"
    TRAIN_STATION = "TRAIN_STATION", "Train station"
    AIRPORT = "AIRPORT", "Airport"
    PARKING_LOT = "PARKING_LOT", "Parking lot"
    CARPOOL_PARKING = "CARPOOL_PARKING", "Carpool parking"
    FUEL_STATION = "FUEL_STATION", "Fuel station"
    WIFI = "WIFI", "Wi-Fi"


class ImageCategory(models.TextChoices):
    CHARGER = "CHARGER", "Charger"
    ENTRANCE = "ENTRANCE", "Entrance"
    LOCATION = "LOCATION", "Location"
    NETWORK = "NETWORK", "Network logo"
    OPERATOR = "OPERATOR", "Operator logo"
    OTHER = "OTHER", "Other"
    OWNER = "OWNER", "Owner logo"


class ParkingRestriction(models.TextChoices):
    EV_ONLY = "EV_ONLY", "EV only"
    PLUGGED = "PLUGGED", "Only while plugged in"
    DISABLED = "DISABLED", "Disabled drivers with a permit"
    CUSTOMERS = "CUSTOMERS", "Customers only"
    MOTORCYCLES = "MOTORCYCLES", "Motorcycles and scooters only"


class ParkingType(models.TextChoices):
    ALONG_MOTORWAY = "ALONG_MOTORWAY", "Along a motorway"
    PARKING_GARAGE = "PARKING_GARAGE", "Parking garage"
    PARKING_LOT = "PARKING_LOT", "Parking lot"
    ON_DRIVEWAY = "ON_DRIVEWAY", "On a driveway"
    ON_STREET = "ON_STREET", "On street"
    UNDERGROUND_GARAGE = "UNDERGROUND_GARAGE", "Underground garage"


class PowerType(models.TextChoices):
    AC_1_PHASE = "AC_1_PHASE", "AC 1-phase"
    AC_2_PHASE = "AC_2_PHASE", "AC 2-phase"
    AC_2_PHASE_SPLIT = "AC_2_PHASE_SPLIT", "AC 2-phase split"
    AC_3_PHASE = "AC_3_PHASE", "AC 3-phase"
    DC = "DC", "DC"


class Status(models.TextChoices):
    AVAILABLE = "AVAILABLE", "Available"
    BLOCKED = "BLOCKED", "Blocked"
    CHARGING = "CHARGING", "Charging"
    INOPERATIVE = "INOPERATIVE", "Inoperative"
    OUTOFORDER = "OUTOFORDER", "Out of order"
    PLANNED = "PLANNED", "Planned"
    REMOVED = "REMOVED", "Removed"
    RESERVED = "RESERVED", "Reserved"
    UNKNOWN = "UNKNOWN", "Unknown"


class TokenType(models.TextChoices):
    AD_HOC_USER = "AD_HOC_USER", "Ad hoc user"
    APP_USER = "APP_USER", "App user"
    OTHER = "OTHER", "Other (e.g. a key)"
    RFID = "RFID", "RFID"
