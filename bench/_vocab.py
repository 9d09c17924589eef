"""Word lists for the synthetic vehicle-export marketplace data.

``generate_db.py`` inlines them as ``text[]`` constants in session-local SQL functions, so
all random picking happens server-side.
"""

from __future__ import annotations

# Data tables read better packed than one item per line.
# fmt: off
# (make, model, three-character WMI prefix used to build plausible VINs)
MAKE_MODELS: tuple[tuple[str, str, str], ...] = (
    ("Toyota", "Hilux", "AHT"), ("Toyota", "Land Cruiser", "JTM"), ("Toyota", "Corolla", "JTD"),
    ("Toyota", "RAV4", "JTM"), ("Toyota", "Prado", "JTE"), ("Toyota", "Hiace", "JTF"),
    ("Nissan", "Navara", "MNT"), ("Nissan", "Patrol", "JN1"), ("Nissan", "X-Trail", "JN1"),
    ("Mitsubishi", "L200", "MMB"), ("Mitsubishi", "Pajero", "JMY"), ("Isuzu", "D-Max", "MPA"),
    ("Ford", "Ranger", "MNC"), ("Ford", "Everest", "MNA"), ("Volkswagen", "Amarok", "WV1"),
    ("Hyundai", "Tucson", "KMH"), ("Hyundai", "H-1", "KMJ"), ("Kia", "Sportage", "KNA"),
    ("Mercedes-Benz", "Sprinter", "WDB"), ("Mercedes-Benz", "GLE", "WDC"), ("BMW", "X5", "WBA"),
    ("Land Rover", "Defender", "SAL"), ("Suzuki", "Jimny", "JS3"), ("Honda", "CR-V", "JHL"),
    ("Mazda", "BT-50", "MM0"), ("Renault", "Duster", "VF1"),
)
FUELS: tuple[str, ...] = (
    "diesel", "petrol", "hybrid", "lpg",
)
TRANSMISSIONS: tuple[str, ...] = (
    "manual", "automatic", "cvt",
)
COLOURS: tuple[str, ...] = (
    "white", "silver", "black", "grey", "red", "blue", "beige", "green", "brown", "orange",
)
CURRENCIES: tuple[str, ...] = (
    "USD", "EUR", "AOA", "ZAR", "GBP", "NAD",
)
DEAL_STATUSES: tuple[str, ...] = (
    "draft", "negotiating", "agreed", "deposit_paid", "paid", "shipped", "delivered",
    "cancelled",
)
PAYMENT_PROVIDERS: tuple[str, ...] = (
    "stripe", "flutterwave", "multicaixa", "swift", "paypal",
)
PAYMENT_STATUSES: tuple[str, ...] = (
    "pending", "authorised", "settled", "refunded", "failed",
)
PLACES: tuple[str, ...] = (
    "Luanda", "Lobito", "Benguela", "Namibe", "Walvis Bay", "Durban", "Cape Town", "Maputo",
    "Dar es Salaam", "Mombasa", "Lagos", "Tema", "Antwerp", "Rotterdam", "Hamburg",
    "Bremerhaven", "Southampton", "Yokohama", "Nagoya", "Dubai", "Lisbon", "Setubal",
    "Le Havre", "Valencia",
)
FIRST_NAMES: tuple[str, ...] = (
    "Ana", "Joao", "Maria", "Pedro", "Helena", "Carlos", "Beatriz", "Miguel", "Sofia", "Tiago",
    "Luisa", "Rui", "Marta", "Paulo", "Ines", "Nuno", "Catarina", "Andre", "Filipa", "Jose",
    "Amara", "Kwame", "Zanele", "Thabo", "Nia", "Kofi", "Aisha", "Sipho", "Lerato", "Tendai",
    "James", "Emma", "Oliver", "Charlotte", "Lukas", "Hannah", "Yuki", "Haruto", "Fatima",
    "Omar", "Elena", "Marco", "Chiara", "Pieter", "Anouk", "Lars", "Ingrid", "Diego", "Lucia",
    "Sven",
)
LAST_NAMES: tuple[str, ...] = (
    "Silva", "Santos", "Ferreira", "Pereira", "Oliveira", "Costa", "Rodrigues", "Martins",
    "Sousa", "Fernandes", "Goncalves", "Lopes", "Mendes", "Neto", "Cardoso", "Domingos",
    "Mensah", "Okafor", "Dlamini", "Nkosi", "Mokoena", "Banda", "Mwangi", "Otieno", "Diallo",
    "Smith", "Jones", "Taylor", "Brown", "Muller", "Schmidt", "Weber", "de Vries", "Jansen",
    "Tanaka", "Suzuki", "Sato", "Haddad", "Rossi", "Bianchi", "Garcia", "Lindqvist", "Novak",
)
EMAIL_DOMAINS: tuple[str, ...] = (
    "gmail.com", "outlook.com", "yahoo.com", "hotmail.com", "proton.me", "icloud.com",
    "angola-motors.co.ao", "lobitotrade.co.ao", "euroexport.eu", "capeauto.co.za",
)
# fmt: on

# Vocabulary for free text (descriptions, notes). Roughly 400 words: a large enough
# vocabulary that the text does not collapse under LZ compression the way a
# 20-word list would, while still compressing like real prose.
_WORDS_TEXT = """
    the a an and or but with without for from to in on at by of as is was are were be been has
    have had very well good excellent clean original genuine full service history one owner
    two owners low mileage high accident free no accidents minor scratches small dent rust
    underbody chassis engine gearbox clutch brakes tyres tires new recently replaced fitted
    serviced inspected checked tested certified warranty months year years km kilometres miles
    diesel petrol hybrid turbo intercooler injector pump radiator alternator battery starter
    timing belt chain water oil filter air fuel cabin spark plugs coolant leak leaks dry smooth
    quiet strong pulls idles starts first time cold warm drives straight steering rack tie rods
    ball joints bushes shocks springs suspension lifted lowered stock upgraded aftermarket
    bull bar winch snorkel roof rack canopy tonneau cover tow bar hitch spare wheel alloy steel
    rims mud terrain all season highway tread depth percent left remaining front rear axle
    differential lock four wheel drive two wheel low range transfer case manual automatic cvt
    five six speed cruise control air conditioning climate heated seats leather cloth fabric
    interior exterior paint respray original colour white silver black grey red blue beige
    green sunroof panoramic navigation bluetooth usb camera reversing parking sensors keyless
    entry push button start alarm immobiliser tracker installed documents papers logbook title
    registration deregistered export certificate customs clearance duty paid unpaid invoice
    proforma bill lading container roro vessel shipping port terminal inspection jevic qisj
    pre shipment roadworthy test passed emissions euro compliant right hand drive left
    conversion buyer seller dealer auction private sale negotiable firm price offer accepted
    rejected counter deposit balance transfer bank swift wire escrow release funds received
    pending confirmed cancelled refunded delayed arrived departed loading discharge yard
    storage demurrage agent clearing forwarding insurance marine cover premium policy claim
    damage transit photos video available upon request contact whatsapp email phone call
    viewing welcome location available immediately urgent reduced bargain rare collector
    farm mine site fleet company government ngo taxi commercial workhorse family holiday
    overland expedition safari desert bush gravel road tar city town village province
    luanda lobito benguela namibe huambo lubango cabinda malanje uige soyo walvis durban
    please note that this vehicle unit truck bakkie pickup double single cab extended king
    chassis body tipper dropside flatbed van bus seater panel minibus ambulance tanker crane
    condition mechanically sound runs drives perfectly needs attention minor work cosmetic
    issues noted report attached mechanic independent check recommended before purchase
    delivery included excluded price includes excludes freight cif fob exw dap ddp incoterms
    terms conditions apply subject availability stock number reference quote please
"""
WORDS: tuple[str, ...] = tuple(dict.fromkeys(_WORDS_TEXT.split()))  # de-duplicated, in order
