"""Meaningless subjects (seed 004 §1 of "порядок обращения"): a list plus a measure of
content, checked on a corpus of real subjects in English and Russian (tests/desk/data)."""

from __future__ import annotations

from pathlib import Path

import pytest

from app.desk import subjects
from app.settings import DEFAULT_MEANINGLESS_SUBJECTS
from tests.desk.conftest import Desk

DATA = Path(__file__).parent / "data"


def _corpus(name: str) -> list[str]:
    lines = (DATA / name).read_text(encoding="utf-8").splitlines()
    return [line for line in lines if line.strip() and not line.startswith("#")]


GOOD = _corpus("subjects_good.txt")
BAD = _corpus("subjects_bad.txt")
CYRILLIC = set("абвгдеёжзийклмнопрстуфхцчшщъыьэюя")


def _russian(s: str) -> bool:
    return any(c in CYRILLIC for c in s.casefold())


def test_the_corpus_is_large_and_in_both_languages() -> None:
    assert len(GOOD) >= 100 and len(BAD) >= 60
    assert sum(map(_russian, GOOD)) >= 40 and sum(not _russian(s) for s in GOOD) >= 40
    assert sum(map(_russian, BAD)) >= 25 and sum(not _russian(s) for s in BAD) >= 25
    assert not set(GOOD) & set(BAD)


def test_no_real_subject_is_refused() -> None:
    refused = [s for s in GOOD if not subjects.assess(s, DEFAULT_MEANINGLESS_SUBJECTS).ok]
    assert refused == []


def test_every_meaningless_subject_is_refused() -> None:
    accepted = [
        (s, subjects.assess(s, DEFAULT_MEANINGLESS_SUBJECTS).content_words)
        for s in BAD
        if subjects.assess(s, DEFAULT_MEANINGLESS_SUBJECTS).ok
    ]
    assert accepted == []


@pytest.mark.parametrize(
    ("subject", "stripped"),
    [("FW: help", "help"), ("Re: Fwd: RE[2]: Backups", "Backups"), ("Отв: Пересл: вопрос", "вопрос"),
     ("AW: [#12] Re: crash", "crash"), ("Regarding the invoice", "Regarding the invoice")],
)  # fmt: skip
def test_reply_and_forward_prefixes_are_stripped(subject: str, stripped: str) -> None:
    assert subjects.strip_prefixes(subject) == stripped


@pytest.mark.parametrize("word", ["asdfg", "йцукен", "фыва", "jkjkjk", "ааааа", "sdfgh", "qwerty", "ytrewq", "hjkl"])  # fmt: skip
def test_keyboard_mash_is_detected(word: str) -> None:
    assert subjects.is_mash(word)


@pytest.mark.parametrize("word", ["backup", "installer", "сервер", "лицензия", "multicast", "transcoder", "rhythm"])  # fmt: skip
def test_real_words_are_not_mash(word: str) -> None:
    assert not subjects.is_mash(word)


@pytest.mark.parametrize(
    "subject", ["DNS", "E_SNAPSHOT_LOCK", "ORA-12154", "0x80070005", "ЛК Safari"]
)
def test_codes_and_acronyms_are_content(subject: str) -> None:
    assert subjects.content_words(subject)


def test_the_measure_can_be_turned_off() -> None:
    assert subjects.assess("asdfg", [], min_content_words=0).ok
    assert not subjects.assess("help", ["help"], min_content_words=0).ok


@pytest.mark.parametrize(
    "subject",
    ["не работает", "asdfg", "ticket", "FW: help", "help", "вопрос", "йцукен", "Ticket 12345",
     "Urgent problem please help", "Ничего не работает"],
)  # fmt: skip
async def test_the_issue_examples_are_refused_over_http(desk: Desk, subject: str) -> None:
    erin = await desk.person(credits=1)
    response = await desk.submit(erin, "technical", subject=subject)
    assert response.status_code == 422, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    assert response.json()["code"] == "subject_not_specific"
    assert await desk.available(erin.id) == 1


async def test_real_subjects_are_accepted_over_http(desk: Desk) -> None:
    erin = await desk.person(credits=0)
    for subject in ("Re: Не работает ihttpd после перезагрузки", "FW: SSL certificate expired"):
        response = await desk.submit(erin, "customer_relations", subject=subject)
        assert response.status_code == 201, response.text


# Each language: subjects that say what is wrong (a short one with an error code, a
# product or technology name or an acronym is enough) and subjects that do not.
DECISIONS = {
    "en": [
        ("DNS", True), ("SMTP relay refuses mail", True), ("error 404 on the cabinet", True),
        ("ORA-12154", True), ("E_SNAPSHOT_LOCK", True), ("Backups fail after upgrading to 2.4", True),
        ("Urgent: payment gateway returns 500", True), ("FW: SSL certificate expired", True),
        ("Having an issue", False), ("problem with server", False), ("Support", False),
        ("Help please, urgent!", False), ("ticket 12345", False), ("asdfg", False),
        ("It doesn't work", False), ("Issue with the system", False),
    ],
    "ru": [
        ("Ошибка 500", True), ("ЛК Safari", True), ("Код 1603 при установке", True),
        ("Не работает ihttpd после перезагрузки", True), ("Истёк сертификат SSL", True),
        ("Поддержка", False), ("Вопрос по работе", False), ("проблема с сервером", False),
        ("Ничего не работает", False), ("Отв: Пересл: вопрос", False), ("йцукен", False),
        ("Помогите, срочно!", False), ("Проблема с сайтом", False),
    ],
}  # fmt: skip


@pytest.mark.parametrize(
    ("subject", "specific"), [case for cases in DECISIONS.values() for case in cases]
)
def test_subjects_are_decided_in_both_languages(subject: str, specific: bool) -> None:
    assert subjects.assess(subject, DEFAULT_MEANINGLESS_SUBJECTS).ok is specific


@pytest.mark.parametrize(
    ("subject", "status"),
    [("DNS", 201), ("Ошибка 500", 201), ("Поддержка", 422), ("Having an issue", 422),
     ("Вопрос по работе", 422), ("problem with server", 422), ("проблема с сервером", 422)],
)  # fmt: skip
async def test_short_specific_subjects_pass_and_vague_ones_fail_over_http(
    desk: Desk, subject: str, status: int
) -> None:
    erin = await desk.person(credits=0)
    response = await desk.submit(erin, "customer_relations", subject=subject)
    assert response.status_code == status, response.text
    if status == 422:
        assert response.json()["code"] == "subject_not_specific"
