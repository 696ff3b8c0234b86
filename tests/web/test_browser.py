"""End to end in a real browser: `e3 serve --with-daemon`, Chromium driven by selenium.

Sign in, upload the corpus's text PDF, watch the progress reach 100 while the Dagster daemon's
uploads_sensor runs the pipeline (Piper for real), play the first seconds in the page's audio
player, download the m4b, delete it. A screenshot of each page goes to the test's tmp folder;
the finished audiobook page also to docs/web-audiobook.png (the README shows it).
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path

import httpx
import pytest

from tests.conftest import PROJECT_ROOT, corpus_file

PASSWORD = "Corr3ct-Horse-Battery-Staple"
SECRET = "browser-test-secret-" + "s" * 40
CHROME_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--autoplay-policy=no-user-gesture-required", "--window-size=1280,1000"]


def _browser_tools() -> tuple[str, str]:
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not (chromium and driver):
        msg = "chromium and chromedriver are not installed (apt-get install chromium chromium-driver)"
        if os.environ.get("CI"):
            pytest.fail(msg + " (CI is set: the browser test must run)")
        pytest.skip(msg)
    return chromium, driver


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tail(path: Path, n: int = 60) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.is_file() else ""


@pytest.mark.slow
@pytest.mark.timeout(900)
def test_sign_in_upload_watch_listen_download_and_delete_in_chromium(e3_env, tmp_path, monkeypatch):
    pdf = corpus_file("pdf/pdflatex-outline_4p.pdf")
    chromium, chromedriver = _browser_tools()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service
    from selenium.common.exceptions import TimeoutException, WebDriverException
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    from e3.catalog.service import init_catalog
    from e3.config import load_settings
    from e3.uploads import add_user

    monkeypatch.setenv("E3_SECRET_KEY", SECRET)
    engine = init_catalog(load_settings().database_url)
    add_user(engine, "reader@example.com", PASSWORD)
    shots = tmp_path / "screenshots"
    shots.mkdir()
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    server_log = tmp_path / "server.log"
    with open(server_log, "wb") as out:
        server = subprocess.Popen([sys.executable, "-m", "e3.cli", "serve", "--port", str(port), "--with-daemon"],
                                  cwd=e3_env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
                                  env=dict(os.environ))
    driver = None
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/signin", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert server.poll() is None and time.monotonic() < deadline, f"e3 serve did not start:\n{_tail(server_log)}"
            time.sleep(0.5)

        options = webdriver.ChromeOptions()
        options.binary_location = chromium
        for flag in CHROME_FLAGS + [f"--user-data-dir={tmp_path / 'chrome-profile'}"]:
            options.add_argument(flag)
        options.add_experimental_option("prefs", {"download.default_directory": str(downloads),
                                                  "download.prompt_for_download": False})
        try:
            driver = webdriver.Chrome(options=options, service=Service(executable_path=chromedriver))
        except Exception as exc:  # noqa: BLE001
            msg = f"Chromium did not start: {exc.__class__.__name__}: {exc}"
            if os.environ.get("CI"):
                pytest.fail(msg)
            pytest.skip(msg)
        driver.execute_cdp_cmd("Browser.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(downloads)})

        def wait_for_url(pattern: str) -> None:
            try:
                WebDriverWait(driver, 60).until(expected_conditions.url_matches(pattern))
            except TimeoutException:
                pytest.fail(f"the page stayed at {driver.current_url}:\n{driver.page_source[:2000]}\n{_tail(server_log)}")

        def shot(name: str) -> Path:
            path = shots / f"{name}.png"
            driver.save_screenshot(str(path))
            return path

        # Sign in.
        driver.get(f"{base}/")
        assert driver.current_url.endswith("/signin")
        driver.find_element(By.ID, "email").send_keys("reader@example.com")
        driver.find_element(By.ID, "password").send_keys(PASSWORD)
        shot("1-signin")
        driver.find_element(By.ID, "signin").click()
        wait_for_url(r".*/audiobooks$")
        shot("2-audiobooks-empty")

        # Upload the PDF: the browser lands on the audiobook's page.
        driver.find_element(By.ID, "file").send_keys(str(pdf))
        driver.find_element(By.ID, "upload").click()
        # The click returns before a slow machine answers the POST: wait for the redirect.
        wait_for_url(r".*/audiobooks/[0-9a-f-]{36}/?$")
        audiobook_id = uuid.UUID(driver.current_url.rstrip("/").rsplit("/", 1)[1])
        shot("3-uploaded")

        # Watch the progress move to 100 (the daemon's uploads_sensor runs the pipeline).
        seen, deadline, progress_shot = [], time.monotonic() + 600, False
        while True:
            try:
                status = driver.find_element(By.ID, "status").text
                value = int(driver.find_element(By.ID, "progress-text").text)
            except (ValueError, WebDriverException):  # the page is reloading
                time.sleep(0.5)
                continue
            if not seen or value != seen[-1]:
                seen.append(value)
            if status == "processing" and 0 < value < 100 and not progress_shot:
                shot("4-progress")
                progress_shot = True
            if status == "failed":
                pytest.fail(f"the conversion failed: {driver.find_element(By.ID, 'failure').text}\n{_tail(server_log)}")
            if value == 100 and driver.find_elements(By.ID, "player"):
                break
            assert time.monotonic() < deadline, f"progress stuck at {seen} ({status})\n{_tail(server_log)}"
            time.sleep(1)
        assert seen[-1] == 100 and seen == sorted(seen), seen

        # Play the first seconds: the player's currentTime moves.
        started = driver.execute_async_script(
            "const done = arguments[arguments.length - 1]; const p = document.getElementById('player');"
            "p.muted = true; p.play().then(() => done('ok')).catch(e => done(String(e)));")
        assert started == "ok", started
        deadline = time.monotonic() + 20
        while (position := driver.execute_script("return document.getElementById('player').currentTime")) < 1.5:
            assert time.monotonic() < deadline, f"the player did not play (currentTime {position})"
            time.sleep(0.3)
        driver.execute_script("document.getElementById('player').pause()")
        assert driver.find_elements(By.CSS_SELECTOR, "#chapters tr")  # the chapter list with durations
        assert driver.execute_script("const c = document.getElementById('cover'); return c && c.naturalWidth") > 0

        # The SRT and the checks follow the m4b in the same run; the page reloads when they are done.
        deadline = time.monotonic() + 300
        while not driver.find_elements(By.ID, "srt") or driver.find_elements(By.ID, "finishing"):
            assert time.monotonic() < deadline, f"no SRT link, or the run never ended\n{_tail(server_log)}"
            time.sleep(1)
        shot("5-audiobook")
        docs = PROJECT_ROOT / "docs"
        docs.mkdir(exist_ok=True)
        shutil.copyfile(shots / "5-audiobook.png", docs / "web-audiobook.png")

        # Download the m4b.
        from e3.uploads import find_audiobook

        m4b = Path(find_audiobook(engine, str(audiobook_id)).audio_path)
        driver.find_element(By.ID, "download").click()
        deadline = time.monotonic() + 60
        while not (got := [p for p in downloads.iterdir() if p.suffix == ".m4b"]):
            assert time.monotonic() < deadline, f"nothing downloaded: {list(downloads.iterdir())}"
            time.sleep(0.5)
        while got[0].stat().st_size < m4b.stat().st_size:
            assert time.monotonic() < deadline
            time.sleep(0.5)
        assert got[0].read_bytes() == m4b.read_bytes()

        # Delete it: the row, its jobs and its files go.
        driver.find_element(By.ID, "delete").click()
        WebDriverWait(driver, 60).until(lambda d: d.find_elements(By.ID, "deleted"))
        assert driver.find_elements(By.ID, "deleted") and str(audiobook_id) not in driver.page_source
        shot("6-deleted")
        assert not m4b.exists() and not (load_settings().foundry / "_uploads" / str(audiobook_id)).exists()
        log_text = server_log.read_text(errors="replace")
        assert PASSWORD not in log_text and SECRET not in log_text
        assert "STEP_FAILURE" not in log_text and "RUN_FAILURE" not in log_text, _tail(server_log)
        assert len(list(shots.glob("*.png"))) == 6
    finally:
        if driver is not None:
            driver.quit()
        if server.poll() is None:
            server.send_signal(signal.SIGTERM)  # uvicorn stops, then e3 serve stops the daemon
            try:
                server.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(server.pid, signal.SIGKILL)
                server.wait(timeout=10)
        _stop_group(server.pid)


def _stop_group(pgid: int) -> None:
    """Whatever the server started (the daemon, its code server) goes with it."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    time.sleep(3)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass
