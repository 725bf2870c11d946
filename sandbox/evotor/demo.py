"""The seeded demo catalog: three stores of a small Russian shop owner, built deterministically.

Everything comes from one `random.Random(DEMO_SEED)`, so ids, prices and timestamps are the
same on every run and in every test. Rows use the v2 field names (docs/contracts/evotor-api.md §5) with the
timestamps kept as Unix milliseconds; `store.emit()` turns them into Evotor's text format.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from decimal import Decimal

DEMO_SEED = 20240315
DEMO_TOKEN = "evotor-demo-token"
DEMO_USER_ID = "01-000000000000001"
# 2024-01-15T08:00:00Z: the demo catalog was created in the weeks after this moment.
BASE_MS = 1_705_305_600_000
DAY_MS = 86_400_000


@dataclass
class Leaf:
    """A product group at the bottom of the tree and how to make its products."""

    path: tuple[str, ...]
    names: list[str]
    brands: list[str] = field(default_factory=lambda: [""])
    sizes: list[str] = field(default_factory=lambda: [""])
    price: tuple[int, int] = (50, 300)
    measure: str = "шт"
    type: str = "NORMAL"
    tax: str = "NO_VAT"
    weighted: bool = False


SHOP_LEAVES = [
    Leaf(
        ("Напитки", "Соки"),
        ["Сок яблочный", "Сок апельсиновый", "Сок томатный", "Нектар вишнёвый", "Сок мультифрукт"],
        ["«Добрый»", "«Любимый»", "«Я»", "«Сады Придонья»"],
        ["0,2 л", "0,95 л", "1 л"],
        (45, 189),
        tax="VAT_10",
    ),
    Leaf(
        ("Напитки", "Вода"),
        ["Вода питьевая негазированная", "Вода минеральная газированная"],
        ["«Святой источник»", "«Ессентуки №17»", "«Боржоми»", "«Архыз»"],
        ["0,5 л", "1,5 л"],
        (35, 140),
        tax="VAT_18",
    ),
    Leaf(
        ("Напитки", "Газированные напитки"),
        ["Лимонад «Буратино»", "Тархун", "Кола", "Дюшес", "Квас «Очаковский»"],
        [""],
        ["0,5 л", "1,5 л", "2 л"],
        (49, 159),
        tax="VAT_18",
    ),
    Leaf(
        ("Напитки", "Чай и кофе", "Чай"),
        ["Чай чёрный", "Чай зелёный", "Чай травяной"],
        ["«Greenfield»", "«Принцесса Нури»", "«Ahmad Tea»"],
        ["25 пак.", "100 г"],
        (69, 329),
        tax="VAT_18",
    ),
    Leaf(
        ("Напитки", "Чай и кофе", "Кофе"),
        ["Кофе молотый", "Кофе в зёрнах", "Кофе растворимый"],
        ["«Jacobs»", "«Жокей»", "«Lavazza»"],
        ["250 г"],
        (249, 899),
        tax="VAT_18",
    ),
    Leaf(
        ("Молочная продукция", "Молоко и кефир"),
        ["Молоко 3,2%", "Молоко 2,5%", "Кефир 1%", "Кефир 3,2%", "Ряженка 4%", "Снежок 2,5%"],
        ["«Простоквашино»", "«Домик в деревне»", "«Весёлый молочник»"],
        ["0,9 л"],
        (59, 119),
        tax="VAT_10",
    ),
    Leaf(
        ("Молочная продукция", "Сыры"),
        [
            "Сыр «Российский»",
            "Сыр «Гауда»",
            "Сыр «Маасдам»",
            "Сыр «Пармезан»",
            "Сыр «Сулугуни»",
            "Брынза",
            "Сыр «Тильзитер»",
            "Сыр «Костромской»",
        ],
        ["весовой"],
        price=(590, 1890),
        measure="кг",
        tax="VAT_10",
        weighted=True,
    ),
    Leaf(
        ("Молочная продукция", "Йогурты и творог"),
        ["Йогурт клубничный", "Йогурт питьевой персик", "Творог 5%", "Творог 9%", "Сметана 20%"],
        ["«Простоквашино»", "«Danone»", "«Экомилк»"],
        [""],
        (39, 189),
        tax="VAT_10",
    ),
    Leaf(
        ("Бакалея", "Крупы"),
        ["Рис круглозёрный", "Рис длиннозёрный", "Гречка ядрица", "Пшено", "Овсяные хлопья"],
        ["«Мистраль»", "«Увелка»", "«Националь»"],
        ["800 г"],
        (59, 219),
        tax="VAT_10",
    ),
    Leaf(
        ("Бакалея", "Макароны"),
        ["Спагетти", "Рожки", "Перья", "Вермишель", "Фузилли"],
        ["«Макфа»", "«Barilla»", "«Шебекинские»"],
        ["450 г"],
        (49, 169),
        tax="VAT_10",
    ),
    Leaf(
        ("Бакалея", "Мука, сахар, соль"),
        [
            "Мука пшеничная высший сорт 2 кг",
            "Сахар-песок 1 кг",
            "Сахар рафинад 500 г",
            "Соль поваренная 1 кг",
            "Соль морская 500 г",
            "Сода пищевая 500 г",
            "Крахмал картофельный 200 г",
        ],
        price=(29, 149),
        tax="VAT_10",
    ),
    Leaf(
        ("Бакалея", "Консервы"),
        [
            "Тушёнка говяжья 325 г",
            "Горошек зелёный 400 г",
            "Кукуруза сладкая 340 г",
            "Сайра в масле 250 г",
            "Шпроты 160 г",
            "Фасоль красная 400 г",
            "Огурцы маринованные 680 г",
        ],
        ["«Бондюэль»", "«Главпродукт»"],
        price=(69, 329),
        tax="VAT_10",
    ),
    Leaf(
        ("Бакалея", "Масло и соусы"),
        [
            "Масло подсолнечное 1 л",
            "Масло оливковое 0,5 л",
            "Майонез «Провансаль» 400 г",
            "Кетчуп томатный 350 г",
            "Горчица русская 100 г",
        ],
        ["«Слобода»", "«Heinz»"],
        price=(59, 749),
        tax="VAT_10",
    ),
    Leaf(
        ("Хлеб и выпечка",),
        [
            "Хлеб «Бородинский»",
            "Батон нарезной",
            "Хлеб белый формовой",
            "Лаваш армянский",
            "Багет французский",
            "Булочка с маком",
            "Круассан с шоколадом",
            "Пирожок с капустой",
            "Сушки ванильные",
            "Баранки",
        ],
        price=(25, 119),
        tax="VAT_10",
    ),
    Leaf(
        ("Кондитерские изделия", "Шоколад"),
        ["Шоколад молочный", "Шоколад горький 70%", "Шоколад с орехами", "Батончик"],
        ["«Алёнка»", "«Бабаевский»", "«Россия — щедрая душа»", "«Ritter Sport»"],
        [""],
        (49, 249),
        tax="VAT_18",
    ),
    Leaf(
        ("Кондитерские изделия", "Печенье и сладости"),
        [
            "Печенье «Юбилейное»",
            "Печенье овсяное",
            "Вафли «Артек»",
            "Пряники тульские",
            "Зефир в шоколаде",
            "Мармелад жевательный",
            "Пастила яблочная",
            "Крекер солёный",
        ],
        [""],
        ["200 г", "400 г"],
        (49, 299),
        tax="VAT_18",
    ),
    Leaf(
        ("Овощи и фрукты",),
        [
            "Картофель",
            "Морковь",
            "Лук репчатый",
            "Капуста белокочанная",
            "Помидоры",
            "Огурцы",
            "Перец болгарский",
            "Яблоки «Голден»",
            "Яблоки «Семеренко»",
            "Бананы",
            "Апельсины",
            "Мандарины",
            "Лимоны",
            "Груши «Конференция»",
            "Виноград кишмиш",
            "Чеснок",
        ],
        ["весовые"],
        price=(29, 399),
        measure="кг",
        tax="VAT_10",
        weighted=True,
    ),
    Leaf(
        ("Мясо и колбасы",),
        [
            "Колбаса «Докторская»",
            "Сервелат «Финский»",
            "Сосиски молочные",
            "Сардельки говяжьи",
            "Ветчина варёная",
            "Грудинка копчёная",
            "Пельмени «Сибирские»",
            "Вареники с картофелем",
        ],
        ["«Черкизово»", "«Останкино»"],
        price=(149, 699),
        tax="VAT_10",
    ),
    Leaf(
        ("Бытовая химия",),
        [
            "Средство для мытья посуды",
            "Стиральный порошок 3 кг",
            "Мыло хозяйственное",
            "Туалетная бумага, 4 рулона",
            "Бумажные полотенца",
            "Губки для посуды, 5 шт.",
            "Мешки для мусора 30 л",
            "Зубная паста",
            "Шампунь",
            "Гель для душа",
        ],
        ["«Чистая линия»", "«Ушастый нянь»"],
        price=(39, 899),
        tax="VAT_18",
    ),
    Leaf(
        ("Снеки",),
        ["Чипсы картофельные", "Сухарики ржаные", "Орешки солёные", "Попкорн", "Семечки жареные"],
        ["«Lay's»", "«Кириешки»", "«От Мартина»"],
        ["40 г", "150 г"],
        (39, 199),
        tax="VAT_18",
    ),
    Leaf(
        ("Замороженные продукты",),
        [
            "Мороженое пломбир",
            "Мороженое эскимо",
            "Овощная смесь",
            "Блинчики с мясом",
            "Котлеты по-киевски",
            "Рыбные палочки",
        ],
        ["«Морозко»", "«Сибирская коллекция»", "«Вкусвилл»"],
        price=(59, 459),
        tax="VAT_10",
    ),
    Leaf(
        ("Зоотовары",),
        ["Корм для кошек, паштет", "Корм для кошек, кусочки в соусе", "Корм для собак сухой"],
        ["«Sheba»", "«Whiskas»", "«Felix»", "«Pedigree»"],
        ["85 г", "400 г"],
        (29, 649),
        tax="VAT_18",
    ),
    Leaf(
        ("Детское питание",),
        ["Пюре яблочное", "Пюре из брокколи", "Каша гречневая", "Сок детский"],
        ["«ФрутоНяня»", "«Агуша»"],
        [""],
        (39, 259),
        tax="VAT_10",
    ),
    Leaf(
        ("Алкоголь", "Пиво"),
        ["Пиво светлое", "Пиво тёмное", "Пиво нефильтрованное"],
        ["«Балтика №3»", "«Жигулёвское»", "«Старый мельник»"],
        ["0,45 л", "1,35 л"],
        (69, 229),
        type="ALCOHOL_NOT_MARKED",
        tax="VAT_18",
    ),
    Leaf(
        ("Алкоголь", "Вино"),
        ["Вино красное сухое", "Вино белое полусладкое", "Игристое брют"],
        ["«Кубань-Вино»", "«Фанагория»"],
        ["0,75 л"],
        (399, 1290),
        type="ALCOHOL_MARKED",
        tax="VAT_18",
    ),
    Leaf(
        ("Табачные изделия",),
        ["Сигареты «Ява»", "Сигареты «Русский стиль»", "Сигареты «Петр I»", "Спички"],
        price=(5, 229),
        type="TOBACCO_MARKED",
        tax="VAT_18",
    ),
]

SHOP_ROOT_PRODUCTS = [
    ("Пакет-майка", "NORMAL", (5, 9)),
    ("Пакет фасовочный", "NORMAL", (1, 3)),
    ("Доставка по району", "SERVICE", (150, 300)),
    ("Сборка заказа", "SERVICE", (50, 100)),
    ("Подарочная карта 1000 ₽", "NORMAL", (1000, 1000)),
]

CAFE_LEAVES = [
    Leaf(
        ("Кофе",),
        ["Эспрессо", "Американо", "Капучино", "Латте", "Раф ванильный", "Флэт уайт", "Мокко"],
        [""],
        ["250 мл", "350 мл", "450 мл"],
        (120, 290),
        tax="NO_VAT",
    ),
    Leaf(
        ("Чай и напитки",),
        ["Чай чёрный", "Чай зелёный", "Какао", "Морс клюквенный", "Лимонад домашний"],
        [""],
        ["300 мл", "500 мл"],
        (110, 240),
        tax="NO_VAT",
    ),
    Leaf(
        ("Десерты",),
        [
            "Чизкейк «Нью-Йорк»",
            "Тирамису",
            "Эклер",
            "Медовик",
            "Наполеон",
            "Маффин черничный",
            "Брауни",
            "Макарон, ассорти",
        ],
        price=(150, 320),
        tax="NO_VAT",
    ),
    Leaf(
        ("Выпечка и сэндвичи",),
        [
            "Круассан классический",
            "Сэндвич с курицей",
            "Сэндвич с ветчиной и сыром",
            "Киш с грибами",
            "Синнабон",
            "Пирог с вишней",
            "Панини с моцареллой",
            "Слойка с яблоком",
        ],
        price=(140, 360),
        tax="NO_VAT",
    ),
    Leaf(
        ("Завтраки",),
        ["Сырники со сметаной", "Омлет с ветчиной", "Каша овсяная", "Круассан с лососем"],
        price=(220, 480),
        tax="NO_VAT",
    ),
]

DESCRIPTIONS = [
    "Натуральный продукт без консервантов.",
    "Хранить в сухом прохладном месте.",
    "Хит продаж нашего магазина!",
    "Производство — Россия.",
    "Срок годности указан на упаковке.",
    "Новинка сезона, попробуйте обязательно.",
    "Идеально к завтраку.",
]


def ean13(body12: str) -> str:
    """An EAN-13 with a correct check digit, so barcode validators accept the demo data."""
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body12))
    return body12 + str((10 - total % 10) % 10)


def make_uuid(rng: random.Random) -> str:
    return str(uuid.UUID(int=rng.getrandbits(128), version=4))


def make_store_id(rng: random.Random, date: str) -> str:
    """Store ids look like `20170228-F4F1-401B-80FA-9ECCA8451FFB` (docs/contracts/evotor-api.md §1)."""
    tail = uuid.UUID(int=rng.getrandbits(128)).hex.upper()
    return f"{date}-{tail[0:4]}-{tail[4:8]}-{tail[8:12]}-{tail[12:24]}"


def money(rng: random.Random, low: int, high: int) -> Decimal:
    """A shelf price: whole roubles, or ending in ,90 / ,99 / ,50 kopecks."""
    rub = rng.randint(low, high)
    cents = rng.choice([0, 0, 0, 90, 99, 50])
    if cents and rub > 1:
        return Decimal(rub - 1) + Decimal(cents) / 100
    return Decimal(rub)


def _timestamps(rng: random.Random) -> tuple[int, int]:
    created = BASE_MS + rng.randint(0, 60 * DAY_MS)
    return created, created + rng.randint(0, 30 * DAY_MS)


def _product(
    rng: random.Random,
    *,
    name: str,
    store_id: str,
    parent_id: str | None,
    leaf: Leaf | None,
    type_: str,
    price_range: tuple[int, int],
    code: int,
) -> dict:
    created, updated = _timestamps(rng)
    price = money(rng, *price_range)
    weighted = bool(leaf and leaf.weighted)
    row = {
        "id": make_uuid(rng),
        "type": type_,
        "name": name[:100],
        "code": str(code),
        "price": price,
        "measure_name": leaf.measure if leaf else "шт",
        "tax": leaf.tax if leaf else "NO_VAT",
        "allow_to_sell": rng.random() > 0.05,
        "description": rng.choice(DESCRIPTIONS) if rng.random() < 0.3 else "",
        "article_number": f"АРТ-{code:05d}" if rng.random() < 0.6 else "",
        "barcodes": [],
        "parent_id": parent_id,
        "store_id": store_id,
        "user_id": DEMO_USER_ID,
        "created_at": created,
        "updated_at": updated,
    }
    if type_ != "SERVICE":
        row["cost_price"] = (price * Decimal("0.7")).quantize(Decimal("0.01"))
        if rng.random() < 0.1:
            row["quantity"] = Decimal(0)
        elif weighted:
            row["quantity"] = Decimal(rng.randint(500, 40_000)) / 1000
        else:
            row["quantity"] = Decimal(rng.randint(1, 120))
        if not weighted:
            count = rng.choice([1, 1, 1, 1, 2, 0])
            row["barcodes"] = [
                ean13(f"46{rng.randint(0, 9_999_999_999):010d}") for _ in range(count)
            ]
    if type_ in ("ALCOHOL_NOT_MARKED", "ALCOHOL_MARKED"):
        row["alcohol_by_volume"] = Decimal(rng.choice([45, 47, 50, 120, 125])) / 10
        row["tare_volume"] = Decimal("0.5")
    return row


@dataclass
class DemoStore:
    id: str
    name: str
    address: str
    created_at: int
    updated_at: int
    status: int | None = None  # a fixed error status for every store-scoped path (402/403)
    groups: list[dict] = field(default_factory=list)
    products: list[dict] = field(default_factory=list)
    images: set[str] = field(default_factory=set)  # ids of products that have an image


def _build_store(
    rng: random.Random,
    *,
    name: str,
    address: str,
    date: str,
    leaves: list[Leaf],
    roots: list[tuple[str, str, tuple[int, int]]],
    limit: int,
    status: int | None = None,
) -> DemoStore:
    created, updated = _timestamps(rng)
    store = DemoStore(make_store_id(rng, date), name, address, created, updated, status)
    groups: dict[tuple[str, ...], str] = {}

    def group_id(path: tuple[str, ...]) -> str:
        if path not in groups:
            parent = group_id(path[:-1]) if len(path) > 1 else None
            gid = make_uuid(rng)
            g_created, g_updated = _timestamps(rng)
            row = {
                "id": gid,
                "name": path[-1],
                "parent_id": parent,
                "store_id": store.id,
                "user_id": DEMO_USER_ID,
                "created_at": g_created,
                "updated_at": g_updated,
            }
            store.groups.append(row)
            groups[path] = gid
        return groups[path]

    code = 1
    candidates: list[tuple[str, Leaf]] = []
    for leaf in leaves:
        group_id(leaf.path)
        for base in leaf.names:
            for brand in leaf.brands:
                for size in leaf.sizes:
                    candidates.append((" ".join(p for p in (base, brand, size) if p), leaf))
    rng.shuffle(candidates)
    # Keep the catalog's group order stable while trimming to the wanted size.
    chosen = sorted(candidates[:limit], key=lambda c: (leaves.index(c[1]), c[0]))
    for product_name, leaf in chosen:
        store.products.append(
            _product(
                rng,
                name=product_name,
                store_id=store.id,
                parent_id=group_id(leaf.path),
                leaf=leaf,
                type_=leaf.type,
                price_range=leaf.price,
                code=code,
            )
        )
        code += 1
    for product_name, type_, price_range in roots:
        store.products.append(
            _product(
                rng,
                name=product_name,
                store_id=store.id,
                parent_id=None,
                leaf=None,
                type_=type_,
                price_range=price_range,
                code=code,
            )
        )
        code += 1
    for row in store.products:
        if row["type"] != "SERVICE" and rng.random() < 0.34:
            store.images.add(row["id"])
    return store


@dataclass
class Modifications:
    """A product sold in variants: an Evotor modification group (contract notes §5.3) with
    `attributes`, and one product per combination of choices, carrying `attributes_choices`."""

    path: tuple[str, ...]  # the group the modification group sits in
    name: str
    attributes: list[tuple[str, list[str]]]
    price: tuple[int, int]


SHOP_MODIFICATIONS = [
    Modifications(
        ("Напитки", "Газированные напитки"),
        "Лимонад «Черноголовка» 0,5 л",
        [("Вкус", ["Дюшес", "Тархун", "Крем-сода"])],
        (79, 99),
    ),
    Modifications(
        ("Молочная продукция", "Молоко и кефир"),
        "Молоко «Простоквашино»",
        [("Жирность", ["2,5 %", "3,2 %"]), ("Объём", ["0,9 л", "1,4 л"])],
        (89, 139),
    ),
]


def add_modifications(store: DemoStore, rng: random.Random, specs: list[Modifications]) -> None:
    """Append modification groups to a built store (their own random sequence, so the rest of
    the demo catalog stays as it was)."""
    code = 9000
    for spec in specs:
        parent = next((g["id"] for g in store.groups if g["name"] == spec.path[-1]), None)
        if parent is None:
            created, updated = _timestamps(rng)
            parent = make_uuid(rng)
            store.groups.append(
                {
                    "id": parent,
                    "name": spec.path[-1],
                    "parent_id": None,
                    "store_id": store.id,
                    "user_id": DEMO_USER_ID,
                    "created_at": created,
                    "updated_at": updated,
                }
            )
        attributes = [
            {
                "id": make_uuid(rng),
                "name": name,
                "choices": [{"id": make_uuid(rng), "name": choice} for choice in choices],
            }
            for name, choices in spec.attributes
        ]
        created, updated = _timestamps(rng)
        group = {
            "id": make_uuid(rng),
            "name": spec.name,
            "parent_id": parent,
            "attributes": attributes,
            "store_id": store.id,
            "user_id": DEMO_USER_ID,
            "created_at": created,
            "updated_at": updated,
        }
        store.groups.append(group)
        combos: list[list[dict]] = [[]]
        for attribute in attributes:
            combos = [
                [*combo, (attribute, choice)] for combo in combos for choice in attribute["choices"]
            ]
        for combo in combos:
            code += 1
            row = _product(
                rng,
                name=" ".join([spec.name, *(choice["name"] for _, choice in combo)]),
                store_id=store.id,
                parent_id=group["id"],
                leaf=None,
                type_="NORMAL",
                price_range=spec.price,
                code=code,
            )
            row["allow_to_sell"] = True
            row["quantity"] = Decimal(rng.randint(1, 30))
            row["attributes_choices"] = {attr["id"]: choice["id"] for attr, choice in combo}
            store.products.append(row)
            store.images.add(row["id"])


def build_demo() -> list[DemoStore]:
    """The three demo stores; the third answers 402 on its store-scoped paths."""
    rng = random.Random(DEMO_SEED)
    stores = [
        _build_store(
            rng,
            name="Продукты у дома",
            address="Россия, г. Москва, ул. Ленина, д. 1",
            date="20190412",
            leaves=SHOP_LEAVES,
            roots=SHOP_ROOT_PRODUCTS,
            limit=430,
        ),
        _build_store(
            rng,
            name="Кофейня «Зерно»",
            address="Россия, г. Тверь, Смоленский пер., д. 14",
            date="20200301",
            leaves=CAFE_LEAVES,
            roots=[("Стакан с собой", "NORMAL", (10, 15))],
            limit=59,
        ),
        _build_store(
            rng,
            name="Магазин на Садовой",
            address="Россия, г. Санкт-Петербург, ул. Садовая, д. 25",
            date="20210915",
            leaves=SHOP_LEAVES[:3],
            roots=[],
            limit=20,
            status=402,
        ),
    ]
    variants_rng = random.Random(DEMO_SEED + 14)
    add_modifications(stores[0], variants_rng, SHOP_MODIFICATIONS)
    return stores
