"""Does a subject say what the problem is? (seed 004, "порядок обращения" §1: the subject is
a short description of the problem, never general words or an empty subject.)

Two checks, both ignoring case, punctuation and reply/forward prefixes (`Re:`, `FW:`,
`Fwd:`, `AW:`, `Отв:`, `Пересл:` …):

1. **The list** (`CREDITDESK_MEANINGLESS_SUBJECTS`): a subject that is, as a whole, one of
   these phrases ("help", "вопрос") is refused.
2. **A measure of content**: after the stop words of both languages (greetings, "help",
   "urgent", "не работает", "ticket", "problem" …) are taken out, at least
   `CREDITDESK_SUBJECT_MIN_CONTENT_WORDS` words must remain that are real words: three
   letters or more, not keyboard mash ("asdfg", "йцукен", "jkjkjk", "sdfghj"). An error
   code ("E_SNAPSHOT_LOCK", "ORA-12154", "0x80070005") or an acronym written in capitals
   ("DNS", "SMTP") counts as a word, and so does a number of three digits or more right
   after "error", "code", "status", "HTTP", "ошибка", "код" ("Ошибка 500"). Generic names
   of things ("server", "system", "сервер", "поддержка") are stop words: "problem with
   server" says nothing about what is wrong.

No database here: `assess` is a pure function, tested on a corpus of real subjects
(tests/desk/data/subjects_*.txt)."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from functools import lru_cache
from itertools import islice

# Reply and forward prefixes in the languages our customers' mail clients use, repeated
# ("Re: Fwd: Re[2]: …"), and ticket tags ("[#12]").
_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|sv|wg|tr|rv|ответ|отв|пересл|переслано|ha)\s*(?:\[\d+\]|\(\d+\))?"
    r"\s*[:：]\s*|\[#\d{1,9}\]\s*)+",
    re.IGNORECASE,
)
# A token: letters/digits, with inner - _ . / joining codes and versions ("ora-12154").
_TOKEN = re.compile(r"\w+(?:[-_./]\w+)*")
_NOT_WORDS = re.compile(r"[\W_]+")
_JOINERS = re.compile(r"[-_./]")

# Words that say nothing about *what* is wrong: greetings, pleas, urgency, the generic
# names of a request or a failure, and grammar words. A subject made only of these is
# refused ("Help please, urgent!", "Не работает", "Проблема с", "Ticket").
_STOP_TEXT = """
    a an the and or but of for to in on at by from with without about regarding re fw fwd
    i me my we us our you your it its this that these those there here is are was were be
    been am do does did doesn doesnt don dont didn didnt not no can cant cannot couldn t s
    isn aren wasn weren wouldn shouldn ll ve d m
    will won wont would should have has had get got getting need needs needed want wants
    please pls plz pleeease kindly thanks thank thx hello hi hey dear team sir madam guys
    all everyone anyone someone somebody something anything nothing everything thing things
    stuff just very really so too still again now today asap urgent urgently emergency
    immediately quick quickly important critical high priority attention fast
    help helps helping assist assistance support supports request requests question
    questions query inquiry enquiry ticket tickets case issue issues problem problems
    trouble troubles error errors bug bugs fault faults failure fail fails failed failing
    wrong broken broke work works working worked function functioning doesnt
    test testing tested subject new message info information details update some any
    what why how when where who which whats hows
    check fix fixed solve solved resolve sort out look see
    здравствуйте здравствуй добрый доброе доброго день дня вечер утро привет приветствую
    уважаемые уважаемый коллеги спасибо пожалуйста плиз
    помогите помоги помочь помощь помощи нужна нужно нужен нужны надо прошу просьба
    срочно срочная срочный срочное срочной очень важно важный важная внимание быстрее
    вопрос вопросы вопросом вопроса проблема проблемы проблемой проблем проблему
    ошибка ошибки ошибку ошибкой ошибок баг баги сбой сбои неполадка неисправность
    обращение заявка заявку запрос тикет тема темы тему без новая новый новое новые
    не ни нет работает работают работать работаем работа работы заработало работало
    сломалось сломался сломалась сломано глючит глюк глюки тормозит ничего что чтото
    то это этот эта эти как так все всё всем есть был была было были опять снова ещё еще
    у нас меня мне мы я вы вас вам наш наша наше наши мой моя моё мои мое в во на с со
    по и или а но к ко о об от до за для из при про же ли бы тест тестовое тестовый
    посмотрите проверьте исправьте решите почему когда где кто какой какая
    having facing experiencing encountering occurred occurring happened happening
    поддержка поддержки поддержку поддержкой техподдержка техподдержки техподдержку
    работе работу работой
    server servers system systems service services computer program software application
    app site website account
    сервер сервера сервером сервере серверу серверы серверов серверами система системы
    систему системой системе сервис сервиса сервисом сервисе программа программы программу
    программой программе компьютер компьютера компьютером сайт сайта сайтом сайте
    приложение приложения приложением приложении аккаунт аккаунта аккаунтом
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())
# After these, a number of three digits or more is an error code ("Ошибка 500"), not a
# ticket number ("Ticket 12345").
_CODE_TEXT = "error errors code status http https errno exit ошибка ошибки ошибку ошибкой код кодом"
_CODE_WORDS = frozenset(_CODE_TEXT.split())

# Keyboard rows (Latin QWERTY and Russian ЙЦУКЕН): four or more neighbouring keys in a
# row, either way, are mash ("asdfg", "йцукен", "фыва", "poiuy").
_ROWS = (
    "qwertyuiop", "asdfghjkl", "zxcvbnm", "1234567890",
    "йцукенгшщзхъ", "фывапролджэ", "ячсмитьбю",
)  # fmt: skip
_ROW_RUNS = frozenset(
    row[i : i + n]
    for r in _ROWS
    for row in (r, r[::-1])
    for n in range(4, len(row) + 1)
    for i in range(len(row) - n + 1)
)
_VOWELS = frozenset("aeiouyаеёиоуыэюя")
_LATIN = re.compile(r"[a-z]")
_CYRILLIC = re.compile(r"[а-яё]")


@lru_cache(maxsize=256)  # `assess` strips the same subject twice
def strip_prefixes(subject: str) -> str:
    """The subject without reply/forward prefixes and ticket tags: "FW: Re: help" → "help"."""
    return _PREFIX.sub("", unicodedata.normalize("NFKC", subject)).strip()


def normalise(subject: str) -> str:
    """Case, punctuation, spacing and reply prefixes do not matter: "FW: HELP!!" → "help"."""
    return " ".join(_NOT_WORDS.sub(" ", strip_prefixes(subject).casefold()).split())


def is_mash(word: str) -> bool:
    """Keyboard mash: a run of neighbouring keys, a word of two letters repeated
    ("jkjkjk", "аааа"), a long word without vowels, or letters of two alphabets mixed."""
    letters = "".join(c for c in word.casefold() if c.isalpha())
    if len(letters) < 4:
        return False
    if any(letters[i : i + 4] in _ROW_RUNS for i in range(len(letters) - 3)):
        return True
    if len(set(letters)) <= 2:
        return True
    if _LATIN.search(letters) and _CYRILLIC.search(letters):
        return True
    return not any(c in _VOWELS for c in letters) and len(letters) >= 5


def _is_code(token: str) -> bool:
    """An error code or identifier: letters and digits together ("0x80070005",
    "ORA-12154", "E404"), or words joined by underscores ("E_SNAPSHOT_LOCK")."""
    has_digit = any(c.isdigit() for c in token)
    has_alpha = any(c.isalpha() for c in token)
    return (has_digit and has_alpha) or ("_" in token.strip("_") and has_alpha)


def _is_acronym(token: str) -> bool:
    """A name written in capitals: "DNS", "SMTP", "ЛК", "IPTV"."""
    letters = [c for c in token if c.isalpha()]
    return len(letters) >= 2 and all(c.isupper() for c in letters) and token.isalnum()


@dataclass(frozen=True, slots=True)
class Assessment:
    ok: bool
    reason: str  # "empty", "listed", "no_content" or "ok"
    content_words: tuple[str, ...] = ()  # the first ones found, up to the minimum asked


def content_words(subject: str) -> list[str]:
    """The words of the subject that say something: not stop words, not mash, three
    letters or more (or a code, or an acronym)."""
    return list(_content_words(subject))


def _content_words(subject: str) -> Iterator[str]:
    previous = ""
    for token in _TOKEN.findall(strip_prefixes(subject)):
        word, after = token.casefold(), previous
        previous = token.casefold()
        parts = [p for p in _JOINERS.split(word) if p]
        if _is_code(token) or (_is_acronym(token) and word not in STOP_WORDS):
            yield word
        elif after in _CODE_WORDS and word.isdigit() and len(word) >= 3:
            yield word  # "Ошибка 500", "error 404", "code 1603": a status or error code
        elif all(p in STOP_WORDS for p in parts):
            continue
        elif any(c.isdigit() for c in word):
            continue  # a bare number ("Ticket 12345") or version ("2.4") alone says nothing
        elif sum(c.isalpha() for c in word) >= 3 and not is_mash(word):
            yield word


@lru_cache(maxsize=8)
def _normalised_list(meaningless: tuple[str, ...]) -> frozenset[str]:
    """The configured list, normalised once (not on every submission)."""
    return frozenset(normalise(s) for s in meaningless)


def assess(subject: str, meaningless: Iterable[str], *, min_content_words: int = 1) -> Assessment:
    """Whether `subject` names the problem. `meaningless`: the whole-subject list."""
    normalised = normalise(subject)
    if not normalised:
        return Assessment(False, "empty")
    if normalised in _normalised_list(tuple(meaningless)):
        return Assessment(False, "listed")
    # the first `min_content_words` are enough to decide (a submission checks one)
    words = tuple(islice(_content_words(subject), min_content_words))
    if len(words) < min_content_words:
        return Assessment(False, "no_content", words)
    return Assessment(True, "ok", words)
