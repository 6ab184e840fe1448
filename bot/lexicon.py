"""Every word list the bot reads Vietnamese with, in one place.

All entries are normalised (lower case, no diacritics, see :mod:`bot.textnorm`), because that is what
questions are matched on. This module holds words to *recognise*, never text to show: what the bot says
lives in ``bot/views``. Services (duty roles, subscription kinds, conference kinds) and handlers (the
question parser, forms, ``/sua``) all read their words from here, so a new spelling is added once.
"""

from __future__ import annotations

import re

# --- Shorthand officers type, one token for another ("nv nao sap den han", "ko", "j") -------------
ABBREVIATIONS: dict[str, str] = {
    "nv": "nhiem vu",
    "nvu": "nhiem vu",
    "nvtt": "nhiem vu trong tam",
    "ko": "khong",
    "k": "khong",
    "kh": "khong",
    "khg": "khong",
    "hok": "khong",
    "j": "gi",
    "ji": "gi",
    "bn": "bao nhieu",
    "bnhieu": "bao nhieu",
    "dv": "don vi",
    "d/c": "dong chi",
    "dc": "dong chi",
    "đ/c": "dong chi",
    "hnay": "hom nay",
    "hqua": "hom qua",
    "bgio": "bay gio",
    "bh": "bao gio",
    "ntn": "nhu the nao",
    "mk": "minh",
    "mik": "minh",
    "ng": "nguoi",
    "ni": "nay",
    "tuan ni": "tuan nay",
    "dtcd": "dien tap",
    "dtcdpt": "dien tap",
    "dt": "dien tap",
    "lt": "lich truc",
    "xh": "xep hang",
    "kq": "ket qua",
    "tk": "tong ket",
    "sk": "so ket",
    "ht": "hoan thanh",
    "sscd": "sscd",
    "cht": "chi huy truong",
    "ctv": "chinh tri vien",
    "pcht": "pho chi huy truong",
    "tmt": "tham muu truong",
    "kb": "kim bang",
    "tl": "thanh liem",
    "pl": "phu ly",
    "bl": "binh luc",
    "ln": "ly nhan",
    "td151": "trung doan 151",
    "e151": "trung doan 151",
}
# Shorthand that stands for a word only in lower case: "dt" is diễn tập, "DT" a unit (Duy Tiên).
LOWERCASE_ONLY = frozenset({"dt"})
# Upper-case letters typed for a unit's initials ("DT" is Duy Tiên, while "dt" is diễn tập):
# matched on the raw text, before normalising, against the initials of each unit's short name.
INITIALS = re.compile(r"(?<![\w/])([A-ZĐ]{2,3})(?![\w/])")

# Words that carry no meaning for the query: particles and politeness ("nhỉ", "vậy", "ạ"...).
PARTICLES = frozenset(
    [
        "a",
        "a",
        "nhi",
        "vay",
        "the",
        "nha",
        "nhe",
        "ha",
        "ho",
        "hi",
        "oi",
        "voi",
        "di",
        "em",
        "anh",
        "chi",
        "bot",
        "oi",
        "minh",
        "cho",
        "hoi",
        "xin",
        "cho",
        "biet",
        "la",
        "nao",
        "vui",
        "long",
        "giup",
        "toi",
        "duoc",
        "khong",
    ]
)

# Common typing slips, once normalised: a doubled last letter is stripped by the parser; these are
# swapped letters or dropped ones that fuzzy matching would not catch safely.
TYPOS: dict[str, str] = {
    "trcu": "truc",
    "truec": "truc",
    "lcih": "lich",
    "lihc": "lich",
    "diemm": "diem",
    "xeo": "xep",
    "hnag": "hang",
    "nhiemvu": "nhiem vu",
    "dientap": "dien tap",
    "xephang": "xep hang",
    "ketqua": "ket qua",
    "lichtruc": "lich truc",
    "homnay": "hom nay",
    "ngaymai": "ngay mai",
    "tuannay": "tuan nay",
    "tuansau": "tuan sau",
}

# --- Duty (trực SSCĐ) -------------------------------------------------------------------------
# Words that name a role in a question ("ai trực chỉ huy", "trực ban tác chiến"), longest first.
ROLE_WORDS: dict[str, str] = {
    "truc ban noi vu": "truc_ban_noi_vu",
    "truc ban tac chien": "truc_ban",
    "truc chi huy": "truc_chi_huy",
    "ai chi huy": "truc_chi_huy",
    "truc thong tin": "truc_thong_tin",
    "truc chien": "truc_chien",
    "truc ban": "truc_ban",
}
# Titles before a person's name ("đ/c Quang", "anh Hải", "Trung tá Cường").
PERSON_TITLES = frozenset(
    [
        "dong",
        "chi",
        "dc",
        "d/c",
        "anh",
        "chi",
        "chu",
        "bac",
        "thu",
        "truong",
        "sep",
        "thuong",
        "ta",
        "trung",
        "ta",
        "thieu",
        "ta",
        "dai",
        "ta",
        "dai",
        "uy",
        "thuong",
        "uy",
        "trung",
        "uy",
        "thieu",
        "uy",
    ]
)
# Positions, spelled out as the abbreviations above expand them ("TMT" -> "tham muu truong").
POSITION_WORDS = ("pho chi huy truong", "chi huy truong", "chinh tri vien pho", "chinh tri vien", "tham muu truong")
# The asker: "khi nào tôi trực", "lịch trực của mình".
# Only next to duty words: "em chào anh, cho em hỏi lịch trực" is not about the asker's own shifts,
# and "tuần tới" typed "tuan toi" is no "tôi" at all.
SELF_PRONOUNS = ("toi", "minh", "em", "tui")  # every way SELF_WORDS matches has one of them
_SELF = rf"({'|'.join(SELF_PRONOUNS)})"
SELF_WORDS = re.compile(
    rf"\b{_SELF} (co |se |phai |duoc |di |con )*(truc|co lich|lich truc)\b"
    rf"|\b(truc|lich truc|ca truc|lich)( cua)? {_SELF}\b(?! (nay|qua|mai))"
    rf"|\b(khi nao|bao gio|hom nao|ngay nao|thu may) {_SELF}\b"
)
# Times of day, as the clock hour they stand for when no hour is given ("đêm nay ai trực").
DAYPARTS = {"sang": 8, "trua": 12, "chieu": 15, "toi": 20, "dem": 23, "khuya": 2}

# --- Subjects: (subject, pattern), tried in order; the order settles overlaps -----------------------
SUBJECT_PATTERNS: list[tuple[str, str]] = [
    ("smalltalk", r"^(xin chao|chao|hello|hi|alo|cam on|cam an|thanks|thank you|tks|ok|oke|tot lam|hay qua)\b"),
    ("smalltalk", r"\b(cam on|cam an|thanks|thank|tks)\b"),
    ("smalltalk", r"^(bot oi|oi bot|alo bot|chao buoi (sang|chieu|toi))\b"),
    ("smalltalk", r"\b(tam biet|bye|hen gap lai|ten (la )?gi|ban la ai|bot la ai|may la ai)\b"),
    (
        "out_of_scope",
        r"\b(soan|viet giup|viet ho|lam ho|lam giup|dich|thoi tiet|bong da|nau|ke chuyen|hat|lam tho"
        r"|tinh toan|tao (bao cao|van ban|ke hoach)|gui email|dat ve|mua|viet|tom tat|may gio roi"
        r"|bay gio la may gio|hom nay (la )?ngay (may|bao nhieu)|nhac (toi|minh|em|giup)|hen gio|bao thuc)\b",
    ),
    ("help", r"\b(tro giup|huong dan|help|lam duoc gi|co the hoi gi|menu|biet lam gi|hoi duoc gi|cach dung)\b"),
    ("directives", r"\b(chi thi|cuoc van dong|nghi quyet)\b"),
    ("readiness", r"\b(tang cuong truc|truc tang cuong|dot tang cuong|tang cuong)\b"),
    # Asking for someone to take one's shift ("ai nhận giúp ca 24/6"): a duty swap offered to the unit.
    ("swap", r"\b(ai (nhan|truc) (giup|ho|thay)( (em|toi|minh))? ca|nhan giup ca|(xin|muon|can) doi ca)\b"),
    (
        "duty",
        r"\b(lich truc|ai truc|truc chi huy|truc ban|truc chien|truc thong tin|ca truc|phien truc|ai chi huy"
        r"|truc sscd|truc san sang|dang truc|di truc|toi truc|minh truc|giao ca)\b",
    ),
    ("drills", r"\b(dien tap|thuc binh|van kien|tap huan khung|khao sat thuc dia|rut kinh nghiem)\b"),
    ("tasks", r"\b(ft ?\d+|nhiem vu|cong viec|tien do|bao cao|den han|qua han|tre han|sap het han|han chot)\b"),
    (
        "ranking",
        r"\b(xep hang|bang xep hang|bxh|bang diem|dung dau|dung cuoi|dung thu|cuoi bang|dau bang|top|cao nhat"
        r"|thap nhat|kem nhat|tot nhat|cao diem nhat|it diem nhat|nhieu diem nhat|hang nhat|hang bet|bet bang"
        r"|xep cuoi|xep dau|dan dau|hon|kem|thua|chenh|so sanh|nhat cum|trung binh|hang [1-9])\b",
    ),
    (
        "results",
        r"\b(ket qua|cham diem|(?<!dia )diem|xep thu|xep loai|thu hang|thu may|hang may|loai (xuat sac|tot|dat|kha)"
        r"|(dat|duoc) loai|xuat sac|chua dat|g[1-9])\b",
    ),
    (
        "schedule",
        r"\b(hoi nghi|so ket|tong ket|cuoc hop)\b.*\b(nhung don vi|don vi nao|thanh phan|gom|bao nhieu don vi"
        r"|may don vi|don vi (du|tham du))\b",
    ),
    (
        "units",
        r"\b(gom (nhung )?(don vi|ai)|don vi nao|cum truong|cum pho|thanh vien|danh sach don vi|bao nhieu don vi"
        r"|co may don vi|nhung don vi|cac don vi trong cum|cum (2|thi dua)|(bao nhieu|may) (xa|phuong|thi tran))\b",
    ),
    ("duty", r"\btruc\b"),
    (
        "schedule",
        r"\b(hoi nghi|lich hop|cuoc hop|hop|so ket|tong ket|lich|su kien|o dau|kiem tra cheo|kiem tra|giao ban"
        r"|phat dong|giao uoc)\b",
    ),
    ("news", r"\b(tin tuc|tin moi|ban tin|(?<!thong )tin)\b"),
    ("start", r"^(bat dau|start)\b"),
]
SUBJECTS = tuple(dict.fromkeys(subject for subject, _ in SUBJECT_PATTERNS))
# The words that say a subject best, for guessing it from a misspelt question ("lcih trcu tuan nay").
SUBJECT_KEYWORDS: dict[str, str] = {
    "lich truc": "duty",
    "ai truc": "duty",
    "truc ban": "duty",
    "truc chi huy": "duty",
    "hoi nghi": "schedule",
    "lich hop": "schedule",
    "dien tap": "drills",
    "nhiem vu": "tasks",
    "ket qua": "results",
    "cham diem": "results",
    "xep hang": "ranking",
    "don vi": "units",
    "cum truong": "units",
    "tin tuc": "news",
    "tang cuong": "readiness",
    "chi thi": "directives",
}

# --- Operations: how the question asks --------------------------------------------------------------
OPERATION_PATTERNS: list[tuple[str, str]] = [
    ("bottom", r"\b(dung cuoi|cuoi bang|xep cuoi|thap nhat|kem nhat|it diem nhat|thap diem nhat|hang bet|bet)\b"),
    (
        "top",
        r"\b(dung dau|dau bang|xep dau|cao nhat|tot nhat|nhieu diem nhat|cao diem nhat|hang nhat|dan dau|top|so 1"
        r"|nhat cum|dung nhat|thu nhat)\b",
    ),
    ("compare", r"\b(hon|kem|thua|chenh( lech)?|so voi|so sanh)\b"),
    ("threshold", r"\b(bao nhieu diem (thi|moi|de|duoc)|(can|phai|may) (bao nhieu|may) diem|nguong|tu bao nhieu)\b"),
    ("nth", r"\b(xep|dung|hang) thu (\d)\b|\b(xep|dung) hang (\d)\b|\bhang [1-9]\b"),
    ("rank_of", r"\b(xep thu|thu may|hang may|thu hang|dung thu|xep hang may|hang thu|loai gi|xep loai (gi|nao))\b"),
    ("average", r"\b(trung binh|binh quan)\b"),
    ("overdue", r"\b(qua han|tre han|cham tien do)\b"),
    ("not_done", r"\b(chua (bao cao|hoan thanh|xong|lam|nop|thuc hien)|chua ai|con thieu|no )\b"),
    ("done", r"\b(da|duoc) (hoan thanh|xong|lam xong)\b|\bxong (chua|roi)\b"),
    ("due_soon", r"\b(sap (den|het|toi) han|sap han|gan han|den han|han chot|deadline)\b"),
    ("due", r"\b(han|khi nao xong|bao gio xong|den ngay nao)\b"),
    ("when", r"\b(khi nao|bao gio|ngay nao|hom nao|thu may|luc nao|may gio|ngay may|bat dau)\b"),
    ("count", r"\b(bao nhieu|may|so luong|co may)\b"),
    ("exists", r"\b(co .*\bkhong|co khong|co gi khong)\b"),
    ("who", r"\b(ai|nguoi nao|dong chi nao)\b"),
    ("what", r"\b(la gi|gi vay|noi dung|nghia la)\b"),
]

# Numbers written as words ("hai đơn vị đứng đầu").
NUMBER_WORDS = {"mot": "1", "hai": "2", "ba": "3", "bon": "4", "nam": "5", "sau": "6", "bay": "7"}

# --- Results: grades and criteria -----------------------------------------------------------------
# Grade words -> the grade name as the cluster's thresholds spell it (normalised).
GRADE_WORDS: dict[str, str] = {
    "xuat sac": "xuat sac",
    "htxs": "xuat sac",
    "tot": "tot",
    "htt": "tot",
    "kha": "tot",
    "dat": "dat",
    "chua dat": "chua dat",
    "khong dat": "chua dat",
}
GRADE_CONTEXT = re.compile(
    r"\b(loai|xep loai|dat loai|duoc loai|muc)\s+(xuat sac|tot|kha|chua dat|khong dat|dat)\b"
    r"|\b(xuat sac|chua dat|khong dat|htxs|htt)\b"
)
# Criterion words -> a word of the criterion's name ("dân vận" finds "G5 Dân vận, chính sách...").
CRITERION_WORDS: dict[str, str] = {
    "lanh dao": "lanh dao",
    "ctd": "lanh dao",
    "ctct": "lanh dao",
    "chinh tri": "lanh dao",
    "huan luyen": "huan luyen",
    "san sang chien dau": "huan luyen",
    "xay dung luc luong": "xay dung luc luong",
    "chinh quy": "xay dung luc luong",
    "ky luat": "xay dung luc luong",
    "hau can": "hau can",
    "tai chinh": "hau can",
    "ky thuat": "hau can",
    "dan van": "dan van",
    "chinh sach": "dan van",
    "phong trao": "dan van",
    "khen thuong": "thi dua khen thuong",
    "tdkt": "thi dua khen thuong",
    "hoat dong cum": "thi dua khen thuong",
    "diem thuong": "diem thuong",
    "diem tru": "diem thuong",
}
CRITERION_CODE = re.compile(r"\b(g ?[1-9])\b")

# --- Tasks ---------------------------------------------------------------------------------------
TASK_CODE = re.compile(r"\b(ft) ?(\d{1,2})\b")
# Words of a task's topic -> its category (demo and real clusters use these categories).
TASK_TOPICS: dict[str, str] = {
    "dien tap": "dien_tap",
    "truc": "truc_sscd",
    "sscd": "truc_sscd",
    "san sang chien dau": "truc_sscd",
    "lanh dao": "lanh_dao_dang",
    "dang": "lanh_dao_dang",
    "hau can": "hau_can_tai_chinh",
    "tai chinh": "hau_can_tai_chinh",
    "kiem tra cheo": "kiem_tra",
    "kiem tra": "kiem_tra",
    "tong ket": "thi_dua",
    "suy ton": "thi_dua",
}

# --- Schedule: kinds of events and of conferences ---------------------------------------------------
EVENT_KIND_WORDS: dict[str, str] = {
    "kiem tra cheo": "inspection",
    "kiem tra": "inspection",
    "hoi nghi": "conference",
    "giao ban": "meeting",
}
# Words naming a kind of conference, most specific first.
CONFERENCE_WORDS: list[tuple[str, tuple[str, ...]]] = [
    ("so ket quy", ("so_ket_quy",)),
    ("so ket", ("so_ket_6t", "so_ket_quy")),
    ("tong ket", ("tong_ket",)),
    ("phat dong", ("phat_dong",)),
    ("giao uoc", ("ky_giao_uoc",)),
]
# A title with one of these is a conference rather than a meeting (bot/services/schedule.guess_kind).
CONFERENCE_TITLE_WORDS = ("hoi nghi", "so ket", "tong ket", "giao uoc", "phat dong")

# --- Units and tasks ------------------------------------------------------------------------
# Words people put before a commune name, with the area type they claim ("xã Ba Sao").
AREA_WORDS: dict[str, str] = {"xa": "xa", "phuong": "phuong", "thi tran": "thi_tran", "tt": "thi_tran", "p": "phuong"}
# A progress report that says the task is done ("/baocao FT1 xong").
DONE_WORDS = ("xong", "hoan thanh", "da hoan thanh", "done", "100%")

# --- Subscriptions -----------------------------------------------------------------------------
# Words people type for a kind of push, matched longest first; a longer phrase hides the shorter
# ones inside it ("bản tin sáng" is the morning digest, not the news).
KIND_WORDS: dict[str, str] = {
    "hoi nghi": "conference",
    "hop": "conference",
    "truc": "duty",
    "dien tap": "drill",
    "nhiem vu": "task",
    "ban tin sang": "digest_daily",
    "ban tin hang ngay": "digest_daily",
    "hang ngay": "digest_daily",
    "ban tin tuan": "digest_weekly",
    "tuan": "digest_weekly",
    "tin tuc": "news",
    "tin": "news",
    "thong bao": "announcements",
}

# --- Forms and /sua -----------------------------------------------------------------------------
CANCEL_WORDS = frozenset({"huy", "thoi", "cancel", "dung lai", "bo"})
ALL_UNITS_WORDS = ("ca cum", "toan cum", "tat ca", "all")
# The words that name each field in "/sua S12 thời gian ..."; a kind offers its own fields.
FIELD_WORDS: dict[str, tuple[str, ...]] = {
    "when": ("thoi gian", "gio", "ngay"),
    "place": ("dia diem",),
    "title": ("noi dung", "ten"),
    "units": ("thanh phan",),
    "person": ("nguoi", "nguoi truc"),
    "day": ("ngay",),
    "due": ("han",),
}


_Compiled = tuple[list[tuple[str, re.Pattern[str]]], frozenset[str] | None]
_PATTERNS: dict[int, tuple[dict[str, str], _Compiled]] = {}
_WORD = re.compile(r"\w+")


def _compiled(words: dict[str, str]) -> _Compiled:
    """The phrases of a word list, longest first, each as a whole-word pattern (compiled once), and
    the first words of the phrases (None when a phrase has no word)."""
    cached = _PATTERNS.get(id(words))
    if cached is None or cached[0] is not words or len(cached[1][0]) != len(words):
        ordered = sorted(words, key=len, reverse=True)
        firsts = [_WORD.findall(p)[:1] for p in ordered]
        cached = (
            words,
            (
                [(p, re.compile(rf"(?<![\w]){re.escape(p)}(?![\w])")) for p in ordered],
                frozenset(w for first in firsts for w in first) if all(firsts) else None,
            ),
        )
        _PATTERNS[id(words)] = cached
    return cached[1]


def phrases_in(norm: str, words: dict[str, str], tokens: list[str] | None = None) -> list[str]:
    r"""The values of the phrases found in ``norm``, longest phrase first; the text a phrase matched is
    used up, so "ban tin sang" does not also count as "tin". ``tokens``: the words of ``norm``
    (``\w+`` runs), when the caller has them: a phrase matches whole words, so its first word is one
    of them, and a list none of whose first words is there is not looked at (most lists, most questions)."""
    patterns, firsts = _compiled(words)
    found: list[str] = []
    if tokens is not None and firsts is not None and firsts.isdisjoint(tokens):
        return found
    rest = f" {norm} "
    for phrase, pattern in patterns:
        # The plain substring test first: most phrases are absent, and it is several times cheaper.
        if phrase in rest and pattern.search(rest):
            found.append(words[phrase])
            rest = pattern.sub(" ", rest)
    return found


def first_phrase(norm: str, words: dict[str, str], tokens: list[str] | None = None) -> str | None:
    found = phrases_in(norm, words, tokens)
    return found[0] if found else None


# /doica: the answers to a swap request, as typed or sent by its buttons (normalised).
SWAP_ACTIONS: dict[str, str] = {
    "dongy": "agree",
    "dong y": "agree",
    "accept": "agree",
    "nhan": "take",
    "take": "take",
    "tuchoi": "refuse",
    "tu choi": "refuse",
    "refuse": "refuse",
    "duyet": "approve",
    "approve": "approve",
    "khongduyet": "reject",
    "khong duyet": "reject",
    "reject": "reject",
}


# --- /xuat (/export): which table, first match wins ("thong ke truc" before "truc") ---------------
EXPORT_KINDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("thongke", ("thong ke", "so ca", "so gio", "stats")),
    ("nhatky", ("nhat ky", "audit", "log")),
    ("ketqua", ("ket qua", "cham diem", "diem", "xep hang", "results", "scores")),
    ("nhiemvu", ("nhiem vu", "tasks", "task")),
    ("truc", ("lich truc", "truc", "duty", "roster")),
)
