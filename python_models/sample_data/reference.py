"""Built-in reference lists the generator draws from: names, nicknames, places, products.

Kept as plain tuples so the generator needs no downloads; weights are rough but give each
country its own flavour (umlauts in Germany, fadas in Ireland, tussenvoegsels in the
Netherlands) so matching code meets the same Unicode and spelling problems real data has.
"""

from __future__ import annotations

COUNTRIES: tuple[str, ...] = ("GB", "IE", "DE", "FR", "US", "NL")
COUNTRY_WEIGHTS: tuple[float, ...] = (0.34, 0.08, 0.13, 0.11, 0.20, 0.14)
COUNTRY_CALLING_CODE: dict[str, str] = {
    "GB": "44",
    "IE": "353",
    "DE": "49",
    "FR": "33",
    "US": "1",
    "NL": "31",
}
COUNTRY_CURRENCY: dict[str, str] = {
    "GB": "GBP",
    "IE": "EUR",
    "DE": "EUR",
    "FR": "EUR",
    "US": "USD",
    "NL": "EUR",
}
# Rough catalogue price multipliers (catalogue prices are in GBP).
FX_FROM_GBP: dict[str, float] = {"GBP": 1.0, "EUR": 1.17, "USD": 1.27}

# Formal name -> everyday variants. Records use a variant some of the time.
NICKNAMES: dict[str, tuple[str, ...]] = {
    "William": ("Bill", "Will", "Billy", "Liam"),
    "Robert": ("Bob", "Rob", "Bobby"),
    "Elizabeth": ("Liz", "Beth", "Lizzie", "Eliza"),
    "Katherine": ("Kate", "Kathy", "Katie", "Kat"),
    "Catherine": ("Cathy", "Cate", "Kate"),
    "Margaret": ("Maggie", "Meg", "Peggy"),
    "James": ("Jim", "Jimmy", "Jamie"),
    "Michael": ("Mike", "Mick", "Mikey"),
    "Richard": ("Rick", "Dick", "Richie"),
    "Thomas": ("Tom", "Tommy"),
    "Jennifer": ("Jen", "Jenny"),
    "Alexander": ("Alex", "Sandy", "Xander"),
    "Alexandra": ("Alex", "Sasha", "Lexi"),
    "Christopher": ("Chris", "Kit"),
    "Daniel": ("Dan", "Danny"),
    "Matthew": ("Matt",),
    "Anthony": ("Tony",),
    "Joseph": ("Joe", "Joey"),
    "Edward": ("Ed", "Eddie", "Ted", "Ned"),
    "Victoria": ("Vicky", "Tori"),
    "Rebecca": ("Becky", "Becca"),
    "Samantha": ("Sam", "Sammy"),
    "Samuel": ("Sam",),
    "Benjamin": ("Ben",),
    "Nicholas": ("Nick",),
    "Patricia": ("Pat", "Patty", "Trish"),
    "Susan": ("Sue", "Suzy"),
    "Johannes": ("Hannes", "Jo"),
    "Wolfgang": ("Wolf",),
    "Friedrich": ("Fritz",),
    "Franziska": ("Franzi",),
    "Stephanie": ("Steffi",),
    "Jan-Willem": ("Jan", "JW"),
    "Hendrik": ("Henk",),
    "Cornelis": ("Kees",),
    "Johanna": ("Anneke", "Jo"),
    "Frédéric": ("Fred",),
    "Dominique": ("Dom",),
    "Maximilian": ("Max",),
    "Łukasz": ("Luke",),
    "José": ("Pepe",),
    "Seán": ("Sean",),
    "Zoë": ("Zoe",),
}

GIVEN_NAMES: dict[str, tuple[str, ...]] = {
    "GB": (
        "William", "Robert", "Elizabeth", "Katherine", "Margaret", "James", "Michael",
        "Thomas", "Oliver", "Harry", "George", "Jack", "Charlotte", "Amelia", "Olivia",
        "Emily", "Sophie", "Jessica", "Rebecca", "Samantha", "Daniel", "Matthew",
        "Christopher", "Edward", "Victoria", "Zoë", "Łukasz", "Priya", "Mohammed", "Aisha",
        "Samuel", "Benjamin", "Alexander", "Lucy", "Hannah", "Chloë", "Nicholas",
    ),
    "IE": (
        "Seán", "Siobhán", "Niamh", "Aoife", "Sinéad", "Pádraig", "Ciarán", "Eoin",
        "Conor", "Saoirse", "Róisín", "Cathal", "Michael", "Patricia", "James", "Mary",
        "Katherine", "Liam", "Orla", "Declan", "Łukasz",
    ),
    "DE": (
        "Johannes", "Wolfgang", "Friedrich", "Franziska", "Stephanie", "Maximilian",
        "Lukas", "Leon", "Jürgen", "Jörg", "Björn", "Sören", "Anna", "Lena", "Sophie",
        "Katharina", "Sabine", "Uwe", "Günther", "Hannah", "Felix", "Alexander", "Zoë",
        "Łukasz", "Mehmet", "Ayşe",
    ),
    "FR": (
        "Frédéric", "Dominique", "François", "Jean", "Pierre", "Élodie", "Chloé",
        "Amélie", "Renée", "Hélène", "Camille", "Léa", "Thomas", "Nicolas", "Julien",
        "Mathilde", "Inès", "José", "Zoë", "Jérôme", "Céline",
    ),
    "US": (
        "William", "Robert", "Elizabeth", "Jennifer", "Michael", "James", "Patricia",
        "Susan", "Richard", "Joseph", "Anthony", "José", "María", "Ashley", "Tyler",
        "Madison", "Brandon", "Jessica", "Christopher", "Daniel", "Katherine", "Alexandra",
        "DeShawn", "Mei", "Nguyen", "Zoë", "Samantha",
    ),
    "NL": (
        "Jan-Willem", "Hendrik", "Cornelis", "Johanna", "Daan", "Sem", "Lieke", "Femke",
        "Sanne", "Bram", "Thijs", "Anouk", "Maarten", "Joris", "Eline", "Noor", "Ruben",
        "Zoë", "Fleur", "Wouter",
    ),
}

FAMILY_NAMES: dict[str, tuple[str, ...]] = {
    "GB": (
        "Smith", "Jones", "Taylor", "Brown", "Williams", "Wilson", "Johnson", "Davies",
        "Robinson", "Wright", "Thompson", "Evans", "Walker", "White", "Roberts", "Green",
        "Hall", "Wood", "Jackson", "Clarke", "Patel", "Khan", "Ahmed", "Nowak",
        "Kowalski", "O'Neill", "Fitzgerald", "Ashworth", "Pemberton", "MacDonald",
    ),
    "IE": (
        "Murphy", "Kelly", "O'Sullivan", "Walsh", "O'Brien", "Byrne", "Ryan", "O'Connor",
        "Ó Briain", "Mac Cárthaigh", "McCarthy", "Doyle", "Gallagher", "Ní Bhriain",
        "Lynch", "Quinn", "Nolan", "Kowalczyk",
    ),
    "DE": (
        "Müller", "Schmidt", "Schneider", "Fischer", "Weber", "Meyer", "Wagner", "Becker",
        "Schulz", "Hoffmann", "Schäfer", "Koch", "Bauer", "Richter", "Klein", "Wolf",
        "Schröder", "Neumann", "Weiß", "Groß", "Lehmann", "Krüger", "Yılmaz", "Nowak",
    ),
    "FR": (
        "Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "García", "Fontaine",
        "Girard", "Bonnet", "Dupont", "Lambert", "Rousseau", "Mercier",
    ),
    "US": (
        "Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis",
        "Rodriguez", "Martinez", "Hernández", "Lopez", "Wilson", "Anderson", "Thomas",
        "Taylor", "Moore", "Jackson", "Lee", "Nguyen", "Kim", "O'Connor", "Washington",
        "Kowalski",
    ),
    "NL": (
        "de Jong", "Jansen", "de Vries", "van den Berg", "van Dijk", "Bakker", "Janssen",
        "Visser", "Smit", "Meijer", "de Boer", "Mulder", "de Groot", "Bos", "Vos",
        "Peters", "Hendriks", "van Leeuwen", "Dekker", "Brouwer",
    ),
}

# (city, postcode prefix pool) per country; postcodes are completed by people.py.
CITIES: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "GB": (
        ("London", ("SW1A", "E1", "N1", "SE10", "W2", "NW3", "EC1V", "E14")),
        ("Manchester", ("M1", "M14", "M20")),
        ("Birmingham", ("B1", "B15", "B29")),
        ("Leeds", ("LS1", "LS6")),
        ("Glasgow", ("G1", "G12")),
        ("Bristol", ("BS1", "BS8")),
        ("Edinburgh", ("EH1", "EH9")),
        ("Cardiff", ("CF10", "CF24")),
    ),
    "IE": (
        ("Dublin", ("D01", "D02", "D04", "D06", "D08", "D15", "D24")),
        ("Cork", ("T12", "T23")),
        ("Galway", ("H91",)),
        ("Limerick", ("V94",)),
    ),
    "DE": (
        ("Berlin", ("10", "12", "13")),
        ("München", ("80", "81")),
        ("Hamburg", ("20", "22")),
        ("Köln", ("50", "51")),
        ("Frankfurt am Main", ("60",)),
        ("Düsseldorf", ("40",)),
    ),
    "FR": (
        ("Paris", ("750",)),
        ("Lyon", ("690",)),
        ("Marseille", ("130",)),
        ("Toulouse", ("310",)),
        ("Lille", ("590",)),
        ("Nantes", ("440",)),
    ),
    "US": (
        ("New York", ("100", "101", "112")),
        ("San Francisco", ("941",)),
        ("Chicago", ("606",)),
        ("Boston", ("021",)),
        ("Austin", ("787",)),
        ("Seattle", ("981",)),
    ),
    "NL": (
        ("Amsterdam", ("10",)),
        ("Rotterdam", ("30",)),
        ("Utrecht", ("35",)),
        ("Den Haag", ("25",)),
        ("Eindhoven", ("56",)),
    ),
}

# Street names; "{n}" marks where the house number goes.
STREETS: dict[str, tuple[str, ...]] = {
    "GB": (
        "{n} High Street", "{n} Station Road", "{n} Church Lane", "{n} Victoria Road",
        "{n} Park Avenue", "{n} Mill Lane", "{n} Queen's Road", "Flat {n}, Albion Court",
        "{n} King Street", "{n} Manor Way",
    ),
    "IE": (
        "{n} Main Street", "{n} O'Connell Street", "{n} Grafton Street", "{n} Patrick Street",
        "{n} Sráid an Mhuilinn", "Apt {n}, The Maltings",
    ),
    "DE": (
        "Hauptstraße {n}", "Bahnhofstraße {n}", "Schillerstraße {n}", "Gartenweg {n}",
        "Lindenallee {n}", "Goethestraße {n}", "Am Markt {n}", "Müllerstraße {n}",
    ),
    "FR": (
        "{n} rue de la Paix", "{n} avenue Victor Hugo", "{n} boulevard Saint-Michel",
        "{n} rue de Rivoli", "{n} place de la République", "{n} rue des Écoles",
    ),
    "US": (
        "{n} Main St", "{n} Oak Avenue", "{n} Maple Street", "{n} Elm Street",
        "{n} Washington Blvd", "{n} Lake Shore Drive", "{n} Sunset Blvd, Apt 4",
    ),
    "NL": (
        "Kerkstraat {n}", "Dorpsstraat {n}", "Prinsengracht {n}", "Keizersgracht {n}",
        "Stationsweg {n}", "Molenweg {n}", "Julianalaan {n}",
    ),
}

# Abbreviations a clerk might type instead of the full street word.
STREET_ABBREVIATIONS: tuple[tuple[str, str], ...] = (
    ("Street", "St"),
    ("Road", "Rd"),
    ("Avenue", "Ave"),
    ("Lane", "Ln"),
    ("straße", "str."),
    ("Boulevard", "Blvd"),
    ("boulevard", "bd"),
    ("avenue", "av."),
)

EMAIL_DOMAINS: dict[str, tuple[str, ...]] = {
    "GB": ("gmail.com", "hotmail.co.uk", "yahoo.co.uk", "outlook.com", "btinternet.com",
           "icloud.com"),
    "IE": ("gmail.com", "eircom.net", "hotmail.com", "outlook.ie", "icloud.com"),
    "DE": ("gmail.com", "gmx.de", "web.de", "t-online.de", "outlook.de"),
    "FR": ("gmail.com", "orange.fr", "free.fr", "laposte.net", "hotmail.fr"),
    "US": ("gmail.com", "yahoo.com", "outlook.com", "icloud.com", "aol.com"),
    "NL": ("gmail.com", "ziggo.nl", "kpnmail.nl", "hotmail.nl", "outlook.com"),
}
WORK_DOMAINS: tuple[str, ...] = (
    "acme-corp.com", "northwind.co.uk", "contoso.de", "globex.fr", "initech.com",
    "hooli.nl", "example.ie",
)
# Addresses typed by many unrelated people when they do not want to give theirs.
GENERIC_EMAILS: tuple[str, ...] = (
    "info@example-shop.co.uk", "test@test.com", "info@acme-ltd.com", "noreply@example.com",
    "a@a.com",
)

PROFILES: tuple[str, ...] = ("loyal_high_value", "bargain_hunter", "occasional", "browser_only")
PROFILE_WEIGHTS: tuple[float, ...] = (0.15, 0.25, 0.40, 0.20)

CATEGORIES: dict[str, tuple[tuple[str, ...], float]] = {
    # category: (nouns, typical GBP price)
    "apparel": (("T-Shirt", "Hoodie", "Jeans", "Jacket", "Dress", "Sweater", "Shirt"), 35.0),
    "footwear": (("Sneakers", "Boots", "Sandals", "Loafers", "Trainers"), 70.0),
    "accessories": (("Scarf", "Backpack", "Wallet", "Sunglasses", "Watch", "Beanie"), 30.0),
    "home": (("Candle", "Mug", "Throw Blanket", "Cushion", "Lamp", "Vase"), 25.0),
    "beauty": (("Moisturiser", "Lip Balm", "Shampoo", "Perfume", "Face Serum"), 18.0),
    "electronics": (("Headphones", "Speaker", "Charger", "Smartwatch", "Power Bank"), 80.0),
    "outdoor": (("Tent", "Water Bottle", "Hiking Poles", "Rain Jacket", "Sleeping Bag"), 55.0),
    "kids": (("Puzzle", "Plush Toy", "Building Blocks", "Picture Book"), 15.0),
}
PRODUCT_ADJECTIVES: tuple[str, ...] = (
    "Classic", "Organic", "Premium", "Everyday", "Vintage", "Slim", "Cosy", "Eco", "Urban",
    "Alpine", "Nordic", "Essential", "Deluxe", "Compact",
)
PRODUCT_COLOURS: tuple[str, ...] = (
    "Black", "White", "Navy", "Olive", "Sand", "Red", "Grey", "Forest", "Rosé", "Crème",
)
PRODUCT_TAGS: tuple[str, ...] = (
    "new", "sale", "bestseller", "eco", "limited", "gift", "premium", "basics", "winter",
    "summer",
)

STORES: tuple[tuple[str, str], ...] = tuple(
    (f"S{i:03d}", c)
    for i, c in enumerate(
        ["GB"] * 8 + ["IE"] * 2 + ["DE"] * 4 + ["FR"] * 3 + ["US"] * 5 + ["NL"] * 3, start=1
    )
)

WEB_CHANNELS: tuple[str, ...] = (
    "direct", "organic_search", "paid_search", "email", "social", "referral",
)
WEB_CHANNEL_WEIGHTS: tuple[float, ...] = (0.30, 0.25, 0.15, 0.12, 0.12, 0.06)
UTM_SOURCE_BY_CHANNEL: dict[str, str | None] = {
    "direct": None,
    "organic_search": None,
    "paid_search": "google",
    "email": "newsletter",
    "social": "instagram",
    "referral": None,
}
UTM_CAMPAIGNS: tuple[str, ...] = (
    "black_friday", "xmas", "january_sale", "spring_edit", "summer_sale", "back_to_school",
    "welcome_series", "winback",
)
DEVICES: tuple[str, ...] = ("desktop", "mobile", "tablet")
DEVICE_WEIGHTS: tuple[float, ...] = (0.40, 0.50, 0.10)

SUPPORT_CHANNELS: tuple[str, ...] = ("email", "chat", "phone", "web_form")
SUPPORT_TOPICS: tuple[str, ...] = (
    "delivery", "returns", "billing", "product_question", "account", "complaint",
)
CONSENT_SOURCES: tuple[str, ...] = ("web_form", "crm", "pos", "preference_center")
CONSENT_PURPOSES: tuple[str, ...] = ("email_marketing", "personalization", "analytics")
