"""Word lists and profiles for the demo company built by `customers.demo` (no logic beyond spelling)."""

from decimal import Decimal

from winback.roles import Role

DEMO_PASSWORD = "winback-demo-2026"

# username, first name, last name, e-mail, role
DEMO_USERS = [
    ("manager1", "Anna", "Keller", "anna.keller@example.com", Role.ACCOUNT_MANAGER),
    ("manager2", "Tomasz", "Nowak", "tomasz.nowak@example.com", Role.ACCOUNT_MANAGER),
    ("exec1", "Margaret", "Hughes", "margaret.hughes@example.com", Role.EXECUTIVE),
    ("admin1", "Daniel", "Brandt", "daniel.brandt@example.com", Role.ADMINISTRATOR),
]
MANAGERS = ["manager1", "manager2"]

# Detection thresholds, share of the customer base, typical order value and buying rhythms.
SEGMENTS = {
    "Enterprise": {
        "at_risk_days": 90,
        "defected_days": 180,
        "case_min_annual_value": Decimal("5000"),
        "share": 0.12,
        "business": True,
        "order_value": 2400,
        "rhythms": {"monthly": 55, "quarterly": 40, "twice_a_year": 5},
    },
    "SMB": {
        "at_risk_days": 60,
        "defected_days": 120,
        "case_min_annual_value": Decimal("1000"),
        "share": 0.33,
        "business": True,
        "order_value": 420,
        "rhythms": {"monthly": 45, "quarterly": 40, "twice_a_year": 10, "one_time": 5},
    },
    "Consumer": {
        "at_risk_days": 45,
        "defected_days": 90,
        "case_min_annual_value": Decimal("0"),
        "share": 0.55,
        "business": False,
        "order_value": 65,
        "rhythms": {"monthly": 30, "quarterly": 30, "twice_a_year": 20, "one_time": 20},
    },
}

LANGUAGES = {"en": 76, "ru": 9, "bg": 7, "pl": 8}

# fmt: off
FIRST_NAMES = {
    "en": {
        "male": [
            "James", "Oliver", "Thomas", "Daniel", "Michael", "David", "Robert", "William", "George", "Henry", "Samuel",
            "Benjamin", "Christopher", "Andrew", "Matthew", "Jack", "Harry", "Ethan", "Liam", "Noah"
        ],
        "female": [
            "Emma", "Olivia", "Sophie", "Charlotte", "Emily", "Jessica", "Hannah", "Sarah", "Laura", "Grace", "Lucy",
            "Amelia", "Rachel", "Claire", "Helen", "Megan", "Chloe", "Isla", "Ruth", "Alice"
        ],
    },
    "ru": {
        "male": [
            "Алексей", "Дмитрий", "Сергей", "Андрей", "Иван", "Михаил", "Николай", "Павел", "Владимир", "Олег", "Юрий",
            "Артём"
        ],
        "female": [
            "Анна", "Елена", "Ольга", "Наталья", "Мария", "Татьяна", "Ирина", "Светлана", "Екатерина", "Юлия", "Ксения",
            "Дарья"
        ],
    },
    "bg": {
        "male": [
            "Георги", "Иван", "Димитър", "Николай", "Христо", "Стоян", "Петър", "Тодор", "Васил", "Калоян", "Борис",
            "Явор"
        ],
        "female": [
            "Мария", "Елена", "Десислава", "Йорданка", "Цветелина", "Гергана", "Милена", "Радослава", "Виктория",
            "Надежда"
        ],
    },
    "pl": {
        "male": [
            "Piotr", "Krzysztof", "Andrzej", "Tomasz", "Paweł", "Michał", "Marcin", "Łukasz", "Jakub", "Grzegorz",
            "Wojciech"
        ],
        "female": [
            "Anna", "Katarzyna", "Małgorzata", "Agnieszka", "Magdalena", "Joanna", "Monika", "Ewa", "Dorota", "Zofia",
            "Aleksandra"
        ],
    },
}

SURNAMES = {
    "en": [
        "Smith", "Johnson", "Williams", "Brown", "Taylor", "Wilson", "Davies", "Evans", "Thomas", "Roberts", "Walker",
        "Wright", "Robinson", "Thompson", "White", "Hughes", "Edwards", "Green", "Hall", "Wood", "Harris", "Clarke",
        "Jackson", "Turner", "Hill", "Moore", "Cooper", "Ward", "Morris", "King", "Baker", "Fletcher", "Bennett",
        "Murphy", "O'Brien", "Patel", "Khan", "Schneider", "Fischer", "Weber"
    ],
    "ru": [
        "Иванов", "Смирнов", "Кузнецов", "Попов", "Соколов", "Лебедев", "Козлов", "Новиков", "Морозов", "Волков",
        "Фёдоров", "Орлов"
    ],
    "bg": [
        "Иванов", "Георгиев", "Димитров", "Петров", "Николов", "Христов", "Стоянов", "Тодоров", "Илиев", "Маринов",
        "Ангелов"
    ],
    "pl": [
        "Nowak", "Kowalski", "Wiśniewski", "Wójcik", "Kowalczyk", "Kamiński", "Lewandowski", "Zieliński", "Szymański",
        "Woźniak", "Dąbrowski", "Kozłowski"
    ],
}
# fmt: on

# For e-mail addresses. Bulgarian spellings differ a little from Russian ones (х, щ, ъ).
TRANSLITERATION = {
    "а": "a", "б": "b", "в": "v", "г": "g", "д": "d", "е": "e", "ё": "yo", "ж": "zh", "з": "z", "и": "i",
    "й": "y", "к": "k", "л": "l", "м": "m", "н": "n", "о": "o", "п": "p", "р": "r", "с": "s", "т": "t",
    "у": "u", "ф": "f", "х": "kh", "ц": "ts", "ч": "ch", "ш": "sh", "щ": "shch", "ъ": "", "ы": "y",
    "ь": "", "э": "e", "ю": "yu", "я": "ya", "ą": "a", "ć": "c", "ę": "e", "ł": "l", "ń": "n", "ó": "o",
    "ś": "s", "ź": "z", "ż": "z",
}  # fmt: skip
TRANSLITERATION_BG = {**TRANSLITERATION, "х": "h", "щ": "sht", "ъ": "a"}

# fmt: off
COMPANY_PREFIXES = [
    "Northwind", "Bluestone", "Silverline", "Riverside", "Oakridge", "Greenfield", "Brightwater", "Redhill", "Eastgate",
    "Summit", "Harbour", "Crescent", "Pinecrest", "Highland", "Meridian", "Kestrel", "Alder", "Granite", "Westbrook",
    "Larkspur", "Copperfield"
]
INDUSTRIES = [
    "Logistics", "Engineering", "Dental Clinics", "Printing", "Packaging", "Foods", "Hotels", "Construction",
    "Pharmacy", "Software", "Interiors", "Bakery", "Auto Parts", "Medical Supplies", "Office Supplies", "Catering",
    "Architects"
]
# fmt: on
COMPANY_SUFFIXES = {
    "en": ["Ltd", "Group", "LLP", "& Co."],
    "ru": ["LLC"],
    "bg": ["EOOD", "OOD", "AD"],
    "pl": ["Sp. z o.o.", "S.A."],
}
CONSUMER_MAIL_DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com"]

# (note, preferred channel implied by the note)
CONTACT_NOTES = [
    ("no phone calls", "email"),
    ("email only, mornings", "email"),
    ("Prefers calls after 14:00.", "phone"),
    ("Send invoices to the accounts department, not to the buyer.", ""),
    ("Text messages only, works night shifts.", "sms"),
    ("Likes to meet in person once a quarter.", "meeting"),
    ("Please address in writing, by post.", "post"),
]
DO_NOT_CONTACT_NOTES = [
    "Asked not to be contacted again (data protection request).",
    "no phone calls, no marketing e-mails",
    "Do not contact: legal dispute about the last invoice.",
    "Service messages only; asked to stop all offers.",
]

# Complaints that come before a departure are the serious kind.
COMPLAINTS = [
    "Delivery arrived nine days late; the second time this quarter.",
    "Invoice charged twice; the refund took three weeks.",
    "Price went up at renewal without any notice.",
    "Order shipped with missing items and nobody called back.",
    "Quality has dropped: several units returned as faulty.",
    "Kept on hold for 40 minutes by the support line, then the call dropped.",
    "Account manager changed twice this year; nobody knows their setup.",
    "Found the same product cheaper elsewhere, asked for a price match and was refused.",
    "Wrong items delivered and the return label never arrived.",
    "Billing address still wrong after three requests.",
]
MINOR_COMPLAINTS = [
    "Parcel left with a neighbour without asking.",
    "Confirmation e-mail went to the wrong address.",
    "Driver arrived outside the agreed time window.",
    "Packaging was damaged, contents fine.",
]
SUPPORT_REQUESTS = [
    "Asked for a copy of last month's invoice.",
    "Needs help changing the delivery address.",
    "Question about volume discounts for the next order.",
    "Cannot sign in to the customer portal.",
    "Wants to move the standing order to the first Monday of the month.",
    "Asked when the spring catalogue will be available.",
    "Requested a quote for 200 units.",
    "Asked to add a second contact person to the account.",
    "Tracking number shows no updates for four days.",
    "Asked for the product data sheet and safety certificate.",
]
PRAISE = [
    "Thanked the team for the fast delivery before the holidays.",
    "Very happy with the new packaging.",
    "Praised support for solving the portal problem in one call.",
    "Recommended us to a partner company.",
    "Said the quality of the last order was excellent.",
]
CANCELLATIONS = [
    "Cancelled the standing order: switching to a competitor with lower prices.",
    "Cancelled the service contract after the delivery problems.",
    "Closing the shop at the end of the month; cancels all orders.",
    "Cancelled the subscription, says they no longer need the product.",
    "Moving abroad, asked to close the account.",
]
CALLS = [
    "Quarterly check-in call: happy overall, plans a larger order.",
    "Called to present the new product line.",
    "Follow-up call about the last delivery.",
    "Annual review call with the purchasing manager.",
]
