"""Run the built image against the Genesys Cloud emulator on the host loopback and hand over once.

`PYTHONPATH=tests python tests/image/handover.py IMAGE`: the emulator runs in this process, the
runtime in a container with `--network host` and the image's own config (deploy/genesys-om.toml,
every value from the environment). A user asks for an agent; the agent accepts, replies and ends through the
emulator's agent console API; the bot takes over again. Then the HEALTHCHECK must report healthy,
and `docker stop` must end the container within 10 s with exit code 0 (SIGTERM reached the
runtime). A second container runs under `docker run --init` on the Redis store of 127.0.0.1:6379
(as compose.yaml does; keys under a prefix of its own, deleted afterwards), answers the bot and
`/readyz`, and must stop the same way. Without Redis that part is skipped, except under CI=true.
Exit status 0 only when all of it holds.
"""

from __future__ import annotations

import asyncio
import os
import socket
import subprocess
import sys
import time
from collections.abc import Awaitable, Callable
from typing import Any

import aiohttp

from extension.testing.emulator import Emulator, EmulatorConfig
from extension.testing.emulator.config import (
    DEFAULT_CLIENT_ID,
    DEFAULT_CLIENT_SECRET,
    DEFAULT_INTEGRATION_NAME,
    DEFAULT_QUEUE_NAME,
    DEFAULT_WEBHOOK_SECRET,
)

from redis_server import delete_prefix, in_ci, new_prefix, redis_answers, redis_url

LABEL = "org.genesys-om.test=image"
TOKEN = "support-bot"
STOP_LIMIT = 10.0
# Names only: `docker run -e NAME` takes the value from this process's environment, so no
# credential appears on a command line or in this script's output.
SECRET_NAMES = ("GENESYS_WEBHOOK_SECRET", "GENESYS_CLIENT_ID", "GENESYS_CLIENT_SECRET")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def step(started: float, message: str) -> None:
    print(f"  [{time.monotonic() - started:6.1f}s] {message}", flush=True)


def docker(*args: str, env: dict[str, str] | None = None, check: bool = True) -> str:
    done = subprocess.run(["docker", *args], capture_output=True, text=True, env=env, timeout=60)
    if check and done.returncode != 0:
        raise RuntimeError(f"docker {args[0]} failed ({done.returncode}): {done.stderr.strip()}")
    return done.stdout.strip()


async def eventually(what: str, probe: Callable[[], Awaitable[Any]], within: float) -> Any:
    """The first truthy answer of `probe`, polled until `within` seconds have passed."""
    deadline = time.monotonic() + within
    while True:
        result = await probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not reached within {within:.0f} s")
        await asyncio.sleep(0.1)


class Container:
    """One `docker run -d` of the image with the runtime on `port`, removed by `remove()`."""

    def __init__(self, image: str, name: str, port: int, emulator_url: str, *, init: bool = False,
                 store_url: str | None = None) -> None:
        self.name = name
        env = {**os.environ,
               "GENESYS_WEBHOOK_SECRET": DEFAULT_WEBHOOK_SECRET,
               "GENESYS_CLIENT_ID": DEFAULT_CLIENT_ID,
               "GENESYS_CLIENT_SECRET": DEFAULT_CLIENT_SECRET}
        settings = {
            "GENESYS_OM_PORT": str(port),
            "GENESYS_OM_PUBLIC_URL": f"http://127.0.0.1:{port}",
            "GENESYS_REGION": emulator_url,
            "GENESYS_DEPLOYMENT_NAME": DEFAULT_INTEGRATION_NAME,
            "GENESYS_QUEUE": DEFAULT_QUEUE_NAME,
            "FEATURE_ENABLE_GENESYS_CLOUD_OM": "true",
            "FEATURE_ENABLE_GENESYS_CLOUD_OM_WHITELIST": "default",
        }
        if store_url is not None:
            settings["GENESYS_OM_STORE_URL"] = store_url
        args = ["run", "-d", "--name", name, "--label", LABEL, "--network", "host"]
        if init:
            args.append("--init")
        for key, value in settings.items():
            args += ["-e", f"{key}={value}"]
        for key in SECRET_NAMES:
            args += ["-e", key]
        # The image's own command and config; only the listen address moves to loopback.
        args += [image, "serve", "--config", "/config/genesys-om.toml", "--host", "127.0.0.1", "--port", str(port)]
        docker(*args, env=env)

    def state(self, field: str) -> str:
        return docker("inspect", "-f", "{{" + field + "}}", self.name)

    def stop(self) -> tuple[float, int]:
        """`docker stop` (SIGTERM, SIGKILL after STOP_LIMIT s): how long it took and the exit code."""
        began = time.monotonic()
        docker("stop", "-t", str(int(STOP_LIMIT)), self.name)
        return time.monotonic() - began, int(self.state(".State.ExitCode"))

    def logs(self) -> str:
        done = subprocess.run(["docker", "logs", "--tail", "60", self.name], capture_output=True, text=True,
                              timeout=30)
        return done.stdout + done.stderr

    def remove(self) -> None:
        docker("rm", "-f", "-v", self.name, check=False)


class Runtime:
    """The runtime's user-facing endpoint, spoken to as one user."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = base
        self.headers: dict[str, str] = {}

    async def healthy(self) -> bool:
        try:
            async with self.http.get(f"{self.base}/healthz") as resp:
                return resp.status == 200
        except aiohttp.ClientError:
            return False

    async def ready(self) -> dict[str, Any]:
        async with self.http.get(f"{self.base}/readyz") as resp:
            return dict(await resp.json())

    async def forget(self) -> None:
        params = {"userId": "u1", "sessionId": "s1"}
        async with self.http.delete(f"{self.base}/{TOKEN}/session", params=params, headers=self.headers):
            pass

    async def say(self, text: str) -> dict[str, Any]:
        body = {"userId": "u1", "sessionId": "s1", "text": text}
        async with self.http.post(f"{self.base}/{TOKEN}", json=body, headers=self.headers) as resp:
            answer: dict[str, Any] = await resp.json()
            assert resp.status == 200, f"POST /{TOKEN}: {resp.status} {answer}"
        if "sessionToken" in answer:
            self.headers = {"X-Session-Token": answer["sessionToken"]}
        return answer

    async def events(self) -> list[dict[str, Any]]:
        params = {"userId": "u1", "sessionId": "s1", "after": "0"}
        async with self.http.get(f"{self.base}/{TOKEN}/events", params=params, headers=self.headers) as resp:
            assert resp.status == 200, f"GET /{TOKEN}/events: {resp.status}"
            return list((await resp.json())["events"])

    async def output(self, source: str, text: str) -> bool:
        return any(e["type"] == "output" and e.get("source") == source and text in (e.get("text") or "")
                   for e in await self.events())

    async def status(self, status: str) -> bool:
        return any(e["type"] == "handover" and e.get("status") == status for e in await self.events())


class Agent:
    """The emulator's agent console API (what an agent's clicks send)."""

    def __init__(self, http: aiohttp.ClientSession, base: str) -> None:
        self.http = http
        self.base = f"{base}/emulator/conversations"

    async def waiting(self) -> str | None:
        async with self.http.get(self.base, params={"state": "waiting"}) as resp:
            conversations = (await resp.json())["conversations"]
        return str(conversations[0]["id"]) if conversations else None

    async def act(self, cid: str, action: str, body: dict[str, Any] | None = None) -> None:
        async with self.http.post(f"{self.base}/{cid}/{action}", json=body or {}) as resp:
            assert resp.status == 200, f"agent {action}: {resp.status} {await resp.text()}"


async def handover(started: float, runtime: Runtime, agent: Agent) -> None:
    await eventually("/healthz answers 200", runtime.healthy, 30)
    step(started, "the runtime answers /healthz")
    await runtime.say("hi")
    answer = await runtime.say("hello")
    said = [o.get("text") for o in answer.get("outputStack", [])]
    assert "You said: hello" in said, f"the bot answered {said}"
    await runtime.say("agent please")
    cid = await eventually("a conversation waits in the queue", agent.waiting, 15)
    step(started, f"handover started: conversation {cid} waits in the queue")
    await agent.act(cid, "accept", {"agent": "Anna"})
    await eventually("the handover is active", lambda: runtime.status("active"), 15)
    await agent.act(cid, "reply", {"text": "Hello, Anna here."})
    await eventually("the agent's reply reaches the user", lambda: runtime.output("agent", "Anna here"), 15)
    step(started, "the agent accepted and replied; the signed webhook reached the user")
    await runtime.say("thanks, bye")
    await agent.act(cid, "end")
    await eventually("the bot takes over again", lambda: runtime.output("bot", "Welcome back"), 30)
    step(started, "the agent ended; the bot is back")


async def stop_check(started: float, container: Container, how: str) -> list[str]:
    """Stop the container; the problems found (none when SIGTERM stopped it cleanly in time)."""
    seconds, code = container.stop()
    step(started, f"docker stop ({how}): exited with code {code} after {seconds:.1f} s")
    problems = []
    if code != 0:
        problems.append(f"{how}: exit code {code} after docker stop (0 expected: SIGTERM did not end it cleanly)")
    if seconds >= STOP_LIMIT:
        problems.append(f"{how}: docker stop took {seconds:.1f} s (SIGTERM ignored, killed)")
    return problems


async def on_redis(started: float, image: str, port: int, emulator_url: str, http: aiohttp.ClientSession,
                   containers: list[Container]) -> list[str]:
    """The second container: `--init`, the Redis store; the problems found."""
    if not redis_answers():
        if in_ci():
            return ["CI needs Redis on 127.0.0.1:6379 for the image's Redis store run"]
        step(started, "no Redis on 127.0.0.1:6379: the --init run on Redis is skipped")
        return []
    prefix = new_prefix()
    problems: list[str] = []
    container = Container(image, f"genesys-om-image-test-init-{os.getpid()}", port, emulator_url, init=True,
                          store_url=redis_url(prefix))
    containers.append(container)
    runtime = Runtime(http, f"http://127.0.0.1:{port}")
    try:
        await eventually("/healthz answers 200 under --init", runtime.healthy, 30)
        await runtime.say("hi")
        answer = await runtime.say("hello")
        said = [o.get("text") for o in answer.get("outputStack", [])]
        assert "You said: hello" in said, f"the bot on Redis answered {said}"
        ready = await runtime.ready()
        assert ready.get("store") == "ok", f"/readyz on Redis: {ready}"
        step(started, "docker run --init on the Redis store: the bot answers, /readyz says the store is ok")
        await runtime.forget()
    except (AssertionError, aiohttp.ClientError) as exc:
        problems.append(str(exc))
    problems += await stop_check(started, container, "docker run --init, Redis store")
    if problems:
        print(container.logs(), file=sys.stderr)
    await delete_prefix(prefix)
    return problems


async def run(image: str) -> int:
    started = time.monotonic()
    port = free_port()
    emulator = Emulator(EmulatorConfig(heartbeat_interval=5.0))
    emulator_url = await emulator.start("127.0.0.1", 0)
    for integration in emulator.config.integrations:
        integration.webhook_url = f"http://127.0.0.1:{port}/handover/genesysCloudOM"
    step(started, f"emulator on {emulator_url}, runtime port {port}")
    problems: list[str] = []
    containers: list[Container] = []
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http:
            user = docker("image", "inspect", "-f", "{{.Config.User}}", image)
            if user in ("", "root", "0"):
                problems.append(f"the image runs as {user or 'root'}, not as its own user")
            env = docker("image", "inspect", "-f", "{{json .Config.Env}}", image)
            problems += [f"the image's environment sets {n}" for n in SECRET_NAMES if n in env]

            main = Container(image, f"genesys-om-image-test-{os.getpid()}", port, emulator_url)
            containers.append(main)
            step(started, f"container {main.name} started (user {user})")
            runtime = Runtime(http, f"http://127.0.0.1:{port}")
            try:
                await handover(started, runtime, Agent(http, emulator_url))
                health = await eventually(
                    "HEALTHCHECK reports healthy",
                    lambda: asyncio.to_thread(lambda: main.state(".State.Health.Status") == "healthy"), 40)
                step(started, f"HEALTHCHECK status: {'healthy' if health else '?'}")
            except (AssertionError, aiohttp.ClientError) as exc:
                problems.append(str(exc))
            problems += await stop_check(started, main, "runtime as PID 1")
            if problems:
                print(main.logs(), file=sys.stderr)

            problems += await on_redis(started, image, port, emulator_url, http, containers)
    finally:
        for container in containers:
            container.remove()
        await emulator.stop()
    for problem in problems:
        print(f"FAIL  {problem}", file=sys.stderr)
    step(started, "image test " + ("failed" if problems else "passed"))
    return 1 if problems else 0


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: PYTHONPATH=tests python tests/image/handover.py IMAGE")
    sys.exit(asyncio.run(run(sys.argv[1])))
