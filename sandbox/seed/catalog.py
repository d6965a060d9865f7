"""The fixed inputs of the demo data: the seed, the sizes, the catalog, names and weights."""

from __future__ import annotations

from decimal import Decimal

SEED = 20261124
GENERATED_CUSTOMERS = 61
GENERATED_ORDERS = 248
DUPLICATE_CHARGES = 4  # generated ones, on top of persona Li Wei's
CURRENCY = "USD"
STORE_NAME = "Frontline Store"

#: The product catalog: SKU, name, unit price.
CATALOG: dict[str, tuple[str, Decimal]] = {
    sku: (name, Decimal(price))
    for sku, name, price in (
        ("FL-HP-100", "Aurora Wireless Headphones", "89.00"),
        ("FL-EB-110", "Pulse Wireless Earbuds", "59.90"),
        ("FL-SP-120", "Boom Mini Bluetooth Speaker", "39.95"),
        ("FL-CH-130", "USB-C Fast Charger 30W", "24.99"),
        ("FL-CB-131", "USB-C Cable 2 m", "9.99"),
        ("FL-PB-140", "PowerBank 10000 mAh", "34.50"),
        ("FL-KB-150", "Low-Profile Mechanical Keyboard", "119.00"),
        ("FL-MS-160", "Ergo Wireless Mouse", "44.90"),
        ("FL-MP-161", "Desk Mat XL", "19.90"),
        ("FL-WC-170", "1080p Webcam", "64.00"),
        ("FL-MN-180", "27-inch 4K Monitor", "329.00"),
        ("FL-ST-190", "Aluminium Laptop Stand", "49.00"),
        ("FL-HB-200", "7-port USB Hub", "29.99"),
        ("FL-SSD-210", "Portable SSD 1 TB", "99.90"),
        ("FL-SD-220", "microSD Card 128 GB", "18.49"),
        ("FL-LT-230", "Smart LED Desk Lamp", "54.00"),
        ("FL-BP-240", "Commuter Laptop Backpack", "79.00"),
        ("FL-SL-250", "Neoprene Laptop Sleeve 14-inch", "24.00"),
        ("FL-TH-260", "Insulated Travel Mug", "22.50"),
        ("FL-WB-270", "Steel Water Bottle 750 ml", "19.00"),
        ("FL-FT-280", "Fitness Tracker Band", "69.00"),
        ("FL-SW-290", "Smartwatch Series 5", "199.00"),
        ("FL-CS-300", "Phone Case, Clear", "14.99"),
        ("FL-SP-310", "Screen Protector 2-pack", "11.99"),
        ("FL-GM-320", "Wireless Gamepad", "54.99"),
    )
}

FIRST_NAMES = (
    "Ava", "Noah", "Mia", "Liam", "Sofia", "Ethan", "Amara", "Mateo", "Priya", "Lucas",
    "Chloe", "Kenji", "Fatima", "Diego", "Hannah", "Arjun", "Grace", "Tomás", "Zoe", "Malik",
    "Isla", "Yusuf", "Nora", "Felix", "Leila", "Oscar", "Ines", "Samuel", "Aisha", "Hugo",
)  # fmt: skip
LAST_NAMES = (
    "Smith", "Garcia", "Nguyen", "Johnson", "Okafor", "Kim", "Müller", "Rossi", "Patel",
    "Brown", "Silva", "Kowalski", "Cohen", "Tanaka", "Martin", "Hughes", "Ali", "Larsen",
    "Dubois", "Moreno", "Novak", "Reyes", "Schmidt", "O'Brien", "Haddad", "Fischer",
)  # fmt: skip
EMAIL_DOMAINS = ("example.com", "example.net", "example.org")
AREA_CODES = ("212", "312", "415", "503", "512", "617", "646", "702", "206", "303", "404")
CARRIERS = ("UPS", "FedEx", "USPS", "DHL")
CARD_BRANDS = ("visa", "mastercard", "amex", "discover")
STREETS = (
    "Maple Ave", "Oak St", "Pine Rd", "Cedar Ln", "Elm St", "Lakeview Dr", "Hillcrest Rd",
    "Park Pl", "Sunset Blvd", "River Rd", "Main St", "Washington Ave", "Highland Ave",
)  # fmt: skip
CITIES = (
    ("Springfield", "IL"), ("Portland", "OR"), ("Austin", "TX"), ("Madison", "WI"),
    ("Denver", "CO"), ("Boston", "MA"), ("Seattle", "WA"), ("Atlanta", "GA"),
    ("Phoenix", "AZ"), ("Raleigh", "NC"), ("Columbus", "OH"), ("Tampa", "FL"),
)  # fmt: skip
TIER_WEIGHTS: tuple[tuple[str, int], ...] = (("bronze", 50), ("silver", 33), ("gold", 17))
STATE_WEIGHTS = (
    ("placed", 8),
    ("paid", 9),
    ("packed", 8),
    ("shipped", 14),
    ("delivered", 36),
    ("cancelled", 14),
    ("returned", 11),
)
#: How long ago (in hours) an order in each state was placed.
AGE_HOURS = {
    "placed": (0.1, 20),
    "paid": (1, 30),
    "packed": (10, 72),
    "shipped": (40, 150),
    "delivered": (150, 3600),
    "cancelled": (2, 3000),
    "returned": (600, 3600),
}
