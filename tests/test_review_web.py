"""The review server: token on every request, loopback only, same-site POSTs, escaped page, store held per request."""

from __future__ import annotations

import csv
import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import duckdb
import pytest

from tests.review_rows import demo_review, query, run_cli
from tests.review_server import Running, chromium_driver, http_request, review_process, server_in_thread

MARKUP = '<script>window.pwned = 1</script><img src=x onerror="window.pwned = 2">'


@pytest.fixture
def ran(demo: Path, capsys: pytest.CaptureFixture[str]) -> Path:
    config = demo / "recon.toml"
    code, _, err = run_cli(capsys, "run", "--config", config)
    assert code == 0, err
    return config


def _post(server: Running, action: str, payload: object, **headers: str) -> tuple[int, dict[str, object]]:
    sent = {"X-Recon-Token": server.token, "Content-Type": "application/json"} | headers
    status, body, _ = http_request(server, "POST", f"/api/{action}", headers=sent, body=json.dumps(payload).encode())
    return status, json.loads(body)


def _decisions(config: Path) -> list[tuple[object, ...]]:
    return query(config.parent / "recon.duckdb", "SELECT action, decided_by, match_id, note FROM review_decisions")


def test_requests_without_the_right_token_are_refused(ran: Path) -> None:
    ids = demo_review(ran.parent / "recon.duckdb")
    with server_in_thread(ran) as (_, server):
        assert http_request(server, "GET", "/")[0] == 403
        assert http_request(server, "GET", "/?token=wrong")[0] == 403
        assert http_request(server, "GET", f"/?token={server.token}")[0] == 200
        payload = {"match_id": ids.gsuite_suggestion}
        assert _post(server, "confirm", payload, **{"X-Recon-Token": ""})[0] == 403
        assert _post(server, "confirm", payload, **{"X-Recon-Token": server.token[:-1] + "x"})[0] == 403
        status, _body, _ = http_request(
            server, "POST", "/api/confirm", headers={"Content-Type": "application/json"}, body=b'{"match_id": "x"}'
        )
        assert status == 403
    assert _decisions(ran) == []


def test_posts_from_another_site_or_host_are_refused(ran: Path) -> None:
    ids = demo_review(ran.parent / "recon.duckdb")
    payload = {"match_id": ids.gsuite_suggestion}
    with server_in_thread(ran) as (_, server):
        assert _post(server, "confirm", payload, Origin="http://evil.example")[0] == 403
        assert _post(server, "confirm", payload, Host="evil.example")[0] == 403  # DNS rebinding
        assert http_request(server, "GET", f"/?token={server.token}", headers={"Host": "evil.example"})[0] == 403
        assert _post(server, "confirm", payload, **{"Content-Type": "text/plain"})[0] == 415  # what a form sends
        assert _decisions(ran) == []
        same_site = f"http://127.0.0.1:{server.port}"
        status, answer = _post(server, "confirm", payload, Origin=same_site)
        assert (status, answer["ok"]) == (200, True)
    assert _decisions(ran) == [("confirm", "ana", ids.gsuite_suggestion, None)]


def test_the_page_lists_what_to_review_and_shows_markup_as_text(ran: Path) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    con = duckdb.connect(str(store))
    con.execute("UPDATE bank_transactions SET description = ? WHERE txn_id = ?", [MARKUP, ids.fee]).fetchall()
    con.close()
    with server_in_thread(ran) as (_, server):
        status, page, headers = http_request(server, "GET", f"/?token={server.token}")
    assert status == 200
    for match_id in (ids.gsuite_suggestion, ids.initech_suggestion, ids.batched_suggestion):
        assert f'data-match-id="{match_id}"' in page
    assert f'data-row-id="{ids.fee}"' in page
    assert f'data-row-id="{ids.open_ledger}"' in page
    assert "&lt;script&gt;window.pwned = 1&lt;/script&gt;&lt;img src=x onerror=&quot;" in page
    assert "<img" not in page
    assert page.count("<script") == 1  # the page's own, with the nonce the policy allows
    nonce = page.split('<script nonce="', 1)[1].split('"', 1)[0]
    assert f"script-src 'nonce-{nonce}'" in headers["Content-Security-Policy"]
    assert headers["Cache-Control"] == "no-store"


def test_actions_record_decisions_and_refuse_what_does_not_add_up(ran: Path) -> None:
    ids = demo_review(ran.parent / "recon.duckdb")
    with server_in_thread(ran, by="ana") as (_, server):
        status, answer = _post(server, "confirm", {"match_id": ids.gsuite_suggestion, "note": "same sub"})
        assert (status, answer["ok"]) == (200, True)
        status, answer = _post(server, "confirm", {"match_id": "no-such-match"})
        assert status == 400
        assert "no-such-match" in str(answer["error"])
        status, answer = _post(server, "match", {"bank_ids": [ids.deposit], "ledger_ids": [ids.receipts[0]]})
        assert status == 400
        assert "530.00 USD" in str(answer["error"])
        assert _post(server, "book", {"bank_ids": [ids.fee]})[0] == 200
        assert _post(server, "launch", {})[0] == 400
        assert _post(server, "match", ["not", "an", "object"])[0] == 400
        confirm = query(
            ran.parent / "recon.duckdb", "SELECT decision_id FROM review_decisions WHERE action = 'confirm'"
        )
        status, answer = _post(server, "undo", {"decision_id": confirm[0][0], "note": "too fast"})
        assert (status, answer["ok"]) == (200, True)
    assert sorted(_decisions(ran), key=str) == sorted(
        [
            ("confirm", "ana", ids.gsuite_suggestion, "same sub"),
            ("book", "ana", None, None),
            ("undo", "ana", ids.gsuite_suggestion, "too fast"),
        ],
        key=str,
    )
    status = "SELECT status FROM matches WHERE match_id = ?"
    assert query(ran.parent / "recon.duckdb", status, [ids.gsuite_suggestion]) == [("suggested",)]


def test_a_store_held_by_another_process_answers_503_then_recovers(ran: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("RECON_STORE_WAIT", "0.5")  # a request waits this long for the holder, then says so
    store = ran.parent / "recon.duckdb"
    holder = subprocess.Popen(
        [sys.executable, "-c", "import duckdb, sys; c = duckdb.connect(sys.argv[1]); print('held', flush=True); "
         "sys.stdin.read()", str(store)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        with server_in_thread(ran) as (_, server):
            assert holder.stdout is not None
            assert holder.stdout.readline().strip() == "held"
            status, body, _ = http_request(server, "GET", f"/?token={server.token}")
            assert status == 503
            assert "in use by another recon process" in body
            status, answer = _post(server, "book", {"bank_ids": ["x"]})
            assert status == 503
            assert "try again" in str(answer["error"])
            holder.communicate(timeout=30)
            assert http_request(server, "GET", f"/?token={server.token}")[0] == 200
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=10)


def _listening_addresses(port: int) -> set[str]:
    """Local addresses with a socket listening on `port`, from /proc/net/tcp and tcp6 (hex, as the kernel writes)."""
    found = set()
    for table in (Path("/proc/net/tcp"), Path("/proc/net/tcp6")):
        if not table.exists():
            continue
        for line in table.read_text().splitlines()[1:]:
            local, state = line.split()[1], line.split()[3]
            address, hex_port = local.split(":")
            if state == "0A" and int(hex_port, 16) == port:  # 0A: LISTEN
                found.add(address)
    return found


@pytest.mark.slow
def test_recon_review_listens_on_loopback_only_lets_runs_in_and_never_logs_the_token(
    ran: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    if not Path("/proc/net/tcp").exists():
        pytest.skip("needs Linux /proc/net/tcp to see which addresses a socket listens on")
    log = tmp_path / "review.log"
    with review_process(ran, log) as (_, server):
        assert server.host == "127.0.0.1"
        assert _listening_addresses(server.port) == {"0100007F"}  # 127.0.0.1, and nothing else
        assert http_request(server, "GET", "/")[0] == 403
        assert http_request(server, "GET", f"/?token={server.token}")[0] == 200
        assert _post(server, "confirm", {"match_id": "nope"})[0] == 400
        # between requests the server does not hold the store: a nightly run goes through
        code, _, err = run_cli(capsys, "run", "--config", ran)
        assert code == 0, err
        assert http_request(server, "GET", f"/?token={server.token}")[0] == 200
    logged = log.read_text()
    assert "GET / 200" in logged
    assert server.token not in logged


class ReviewPage:
    """The review page in Chromium, driven with the keyboard as a person would."""

    def __init__(self, driver: Any, server: Running):
        self.driver = driver
        self.server = server

    def open(self) -> None:
        self.driver.get(self.server.url)
        self.wait(lambda d: d.switch_to.active_element.get_attribute("data-key"))

    def wait(self, condition: Callable[[Any], object], timeout: float = 30) -> Any:
        from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
        from selenium.webdriver.support.ui import WebDriverWait

        ignored = (StaleElementReferenceException, NoSuchElementException)
        return WebDriverWait(self.driver, timeout, ignored_exceptions=ignored).until(condition)

    def press(self, keys: str) -> None:
        from selenium.webdriver.common.action_chains import ActionChains

        ActionChains(self.driver).send_keys(keys).perform()

    def focused(self) -> str | None:
        return self.driver.switch_to.active_element.get_attribute("data-key")  # type: ignore[no-any-return]

    def move_to(self, key: str) -> None:
        """Walk the focus to the row `key` with j/k (and the arrows now and then)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.common.keys import Keys

        keys = [el.get_attribute("data-key") for el in self.driver.find_elements(By.CSS_SELECTOR, ".item")]
        assert key in keys, f"{key} is not on the page"
        steps = keys.index(key) - keys.index(self.focused())
        for n in range(abs(steps)):
            if steps > 0:
                self.press(Keys.ARROW_DOWN if n % 3 == 2 else "j")
            else:
                self.press(Keys.ARROW_UP if n % 3 == 2 else "k")
        assert self.focused() == key
        # the focus is visible: a solid outline on the row
        assert self.driver.execute_script("return getComputedStyle(document.activeElement).outlineStyle") == "solid"

    def note(self, text: str) -> None:
        from selenium.webdriver.common.keys import Keys

        self.press("n")
        self.press(text)
        self.press(Keys.ESCAPE)

    def status(self) -> str:
        from selenium.webdriver.common.by import By

        return str(self.driver.find_element(By.ID, "status").text)

    def total(self) -> tuple[str, bool]:
        from selenium.webdriver.common.by import By

        save = self.driver.find_element(By.ID, "save-match")
        return self.driver.find_element(By.ID, "total").text, save.is_enabled()

    def wait_for_status(self, text: str) -> None:
        self.wait(lambda d: text in self.status())


@pytest.mark.slow
def test_a_person_reviews_with_the_keyboard_in_chromium_and_a_rerun_keeps_it(
    ran: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Confirm one suggestion, reject the 1:N suggestion of the 1730.00 deposit, then match that deposit by hand
    to its 1200.00 + 530.00 receipts (the matcher suggested the same group; it is rejected first, as a person who
    wants to say so would), mark a fee to book; then `recon run` again: every decision stands."""
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    con = duckdb.connect(str(store))
    con.execute("UPDATE bank_transactions SET description = ? WHERE txn_id = ?", [MARKUP, ids.fee]).fetchall()
    con.close()

    with review_process(ran, tmp_path / "review.log") as (_, server), chromium_driver(tmp_path / "profile") as driver:
        page = ReviewPage(driver, server)
        page.open()
        assert driver.execute_script("return window.pwned") is None  # markup from the bank file did not run

        page.move_to(f"m:{ids.gsuite_suggestion}")
        page.note("same subscription")
        assert page.focused() == f"m:{ids.gsuite_suggestion}"
        page.press("c")
        page.wait_for_status(f"match {ids.gsuite_suggestion} confirmed")

        page.move_to(f"m:{ids.batched_suggestion}")
        page.press("r")
        page.wait_for_status(f"match {ids.batched_suggestion} rejected")

        page.move_to(f"bank:{ids.deposit}")
        page.press("x")
        assert page.total() == ("bank 1730.00 (1) − ledger 0.00 (0) = 1730.00 USD", False)
        page.move_to(f"ledger:{ids.receipts[0]}")
        page.press("x")
        assert page.total() == ("bank 1730.00 (1) − ledger 1200.00 (1) = 530.00 USD", False)
        page.press("\n")  # Enter: refused while the total is not zero
        page.wait_for_status("total difference is zero")
        page.move_to(f"ledger:{ids.receipts[1]}")
        page.press("x")
        assert page.total() == ("bank 1730.00 (1) − ledger 1730.00 (2) = 0.00 USD", True)
        page.press("n")
        page.press("two checks, one deposit\n")  # Enter in the note saves the match
        page.wait_for_status("saved (1 bank, 2 ledger rows)")

        page.move_to(f"bank:{ids.fee}")
        page.press("b")
        page.wait_for_status("marked to be booked by a rule")
        assert "to book by a rule" in driver.find_element("css selector", f'[data-key="bank:{ids.fee}"]').text

    decisions = query(store, "SELECT action, decided_by, note FROM review_decisions ORDER BY decided_at")
    assert decisions == [
        ("confirm", "ana", "same subscription"),
        ("reject", "ana", None),
        ("match", "ana", "two checks, one deposit"),
        ("book", "ana", None),
    ]

    code, _, err = run_cli(capsys, "run", "--config", ran)
    assert code == 0, err
    status = "SELECT status, origin, kind FROM matches WHERE match_id = ?"
    assert query(store, status, [ids.gsuite_suggestion]) == [("confirmed", "engine", "1:1")]
    hand = query(store, "SELECT match_id FROM review_decisions WHERE action = 'match'")[0][0]
    assert query(store, status, [hand]) == [("confirmed", "person", "1:N")]
    held = "SELECT DISTINCT m.match_id FROM match_links l JOIN matches m USING (match_id) WHERE l.bank_txn_id = ?"
    assert query(store, held, [ids.deposit]) == [(hand,)]
    assert query(store, "SELECT count(*) FROM review_decisions") == [(4,)]
    with (ran.parent / "out" / "exceptions.csv").open() as fh:
        report = list(csv.DictReader(fh))
    suggested = {r["match_id"] for r in report if r["kind"] == "suggested"}
    assert ids.gsuite_suggestion not in suggested
    assert ids.batched_suggestion not in suggested
    open_rows = {r["row_id"] for r in report if r["kind"].endswith("_unmatched")}
    assert not open_rows & {ids.deposit, *ids.receipts}
    assert ids.initech_suggestion in suggested  # what nobody decided on is still waiting


AGAIN = "JE-09003,2026-07-05,8371.56,Payment received - Globex Inc (again),Globex Inc,INV-10022,Assets:Bank:Checking\n"


@pytest.fixture
def ran_with_duplicate(demo: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, str, str]:
    """The demo with the Globex receipt of INV-10022 entered twice in the books, after one run: the config,
    the flagged entry and the entry it repeats."""
    with (demo / "ledger" / "gl.csv").open("a") as fh:
        fh.write(AGAIN)
    config = demo / "recon.toml"
    code, _, err = run_cli(capsys, "run", "--config", config)
    assert code == 0, err
    [(flagged, first)] = query(
        demo / "recon.duckdb", "SELECT row_id, duplicate_of FROM duplicates WHERE status = 'flagged'"
    )
    return config, str(flagged), str(first)


def test_the_page_lists_possible_duplicates_and_dismisses_them_as_the_command_does(
    ran_with_duplicate: tuple[Path, str, str],
) -> None:
    config, flagged, first = ran_with_duplicate
    with server_in_thread(config) as (_, server):
        page = http_request(server, "GET", f"/?token={server.token}")[1]
        assert "Possible duplicates (1)" in page
        section = page.split('id="duplicate-rows"', 1)[1].split("</table>", 1)[0]
        assert f'data-kind="duplicate" data-key="dup:ledger:{flagged}"' in section
        assert "Payment received - Globex Inc (again)" in section  # the flagged row ...
        assert "Payment received - Globex Inc <span" in section  # ... beside the row it repeats
        assert first in section
        assert "same reference INV-10022 and amount as" in section
        assert "Not a duplicate (d)" in section
        status, answer = _post(server, "not_duplicate", {"row_ids": ["no-such-row"]})
        assert status == 400
        assert "not flagged as duplicates: no-such-row" in str(answer["error"])
        status, answer = _post(server, "not_duplicate", {"row_ids": [flagged], "note": "two invoices"})
        assert (status, answer["ok"]) == (200, True)
        assert "1 duplicate flag(s) dismissed" in str(answer["message"])
        assert "Possible duplicates (0)" in http_request(server, "GET", f"/?token={server.token}")[1]
    store = config.parent / "recon.duckdb"
    assert query(store, "SELECT status FROM duplicates WHERE row_id = ?", [flagged]) == [("dismissed",)]
    assert _decisions(config) == [("not_duplicate", "ana", None, "two invoices")]


def test_the_categorize_action_books_an_open_bank_row_to_an_account(ran: Path) -> None:
    store = ran.parent / "recon.duckdb"
    ids = demo_review(store)
    with server_in_thread(ran) as (_, server):
        page = http_request(server, "GET", f"/?token={server.token}")[1]
        row = page.split(f'data-key="bank:{ids.fee}"', 1)[1].split("</tr>", 1)[0]
        assert "→ Expenses:Bank Fees (rule Monthly service fee)" in row
        assert 'data-command="categorize"' in row
        assert '<option value="Expenses:Bank Fees">' in page  # the account field offers what is booked so far
        status, answer = _post(server, "categorize", {"bank_ids": [ids.fee]})
        assert status == 400
        assert "give the GL account" in str(answer["error"])
        status, answer = _post(server, "categorize", {"bank_ids": [ids.fee], "category": "Assets:Bank:Checking"})
        assert status == 400
        status, answer = _post(
            server, "categorize", {"bank_ids": [ids.fee], "category": "Expenses:Bank Fees:Waived", "note": "waived"}
        )
        assert (status, answer["ok"]) == (200, True), answer
        assert "1 bank row(s) booked to Expenses:Bank Fees:Waived" in str(answer["message"])
        page = http_request(server, "GET", f"/?token={server.token}")[1]
        row = page.split(f'data-key="bank:{ids.fee}"', 1)[1].split("</tr>", 1)[0]
        assert "→ Expenses:Bank Fees:Waived (a person)" in row
        assert 'data-command="categorize"' not in row
        [(decision_id,)] = query(store, "SELECT decision_id FROM review_decisions WHERE action = 'categorize'")
        assert f'data-decision-id="{decision_id}"' in page  # undoable from the log
    assert _decisions(ran) == [("categorize", "ana", None, "waived")]
    assert query(store, "SELECT origin, category FROM categorizations WHERE txn_id = ?", [ids.fee]) == [
        ("person", "Expenses:Bank Fees:Waived")
    ]


@pytest.mark.slow
def test_a_person_books_a_row_to_an_account_and_dismisses_a_duplicate_with_the_keyboard(
    ran_with_duplicate: tuple[Path, str, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`a` on an open bank row, type the account, Enter; `d` on a possible duplicate; then `recon run` keeps both;
    `u` on the categorization in the log gives the row back to the rules."""
    config, flagged, _ = ran_with_duplicate
    store = config.parent / "recon.duckdb"
    ids = demo_review(store)
    with review_process(config, tmp_path / "review.log") as (_, server), chromium_driver(tmp_path / "p") as driver:
        page = ReviewPage(driver, server)
        page.open()
        page.move_to(f"bank:{ids.fee}")
        page.press("a")
        assert driver.switch_to.active_element.get_attribute("id") == "category"
        assert driver.find_element("id", "category-rows").text == f"bank row {ids.fee}"
        page.press("Expenses:Bank Fees:Waived\n")
        page.wait_for_status("1 bank row(s) booked to Expenses:Bank Fees:Waived")
        assert page.focused() == f"bank:{ids.fee}"
        row = driver.find_element("css selector", f'[data-key="bank:{ids.fee}"]')
        assert "→ Expenses:Bank Fees:Waived (a person)" in row.text

        page.move_to(f"dup:ledger:{flagged}")
        page.press("d")
        page.wait_for_status("1 duplicate flag(s) dismissed")
        assert "Possible duplicates (0)" in driver.page_source

    assert query(store, "SELECT action FROM review_decisions ORDER BY decided_at") == [
        ("categorize",),
        ("not_duplicate",),
    ]
    code, _, err = run_cli(capsys, "run", "--config", config)
    assert code == 0, err
    person = "SELECT origin, category FROM categorizations WHERE txn_id = ?"
    assert query(store, person, [ids.fee]) == [("person", "Expenses:Bank Fees:Waived")]
    assert query(store, "SELECT status FROM duplicates WHERE row_id = ?", [flagged]) == [("dismissed",)]

    [(decision_id,)] = query(store, "SELECT decision_id FROM review_decisions WHERE action = 'categorize'")
    with review_process(config, tmp_path / "review2.log") as (_, server), chromium_driver(tmp_path / "q") as driver:
        page = ReviewPage(driver, server)
        page.open()
        page.move_to(f"d:{decision_id}")
        page.press("u")
        page.wait_for_status("the rules categorize its rows again on the next run")
    code, _, err = run_cli(capsys, "run", "--config", config)
    assert code == 0, err
    assert query(store, person, [ids.fee]) == [("engine", "Expenses:Bank Fees")]
