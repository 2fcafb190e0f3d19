"""API Gateway (HTTP API) on 127.0.0.1: HTTP requests → payload-2.0 Lambda events, and back.

The gateway serves the routes the template declares (``ANY /api/{proxy+}`` → the api function),
builds the event API Gateway would send (lowercased headers, cookies, raw and parsed query string,
path parameters, base64 for binary bodies, request id and time), invokes the function through the
in-process Lambda dispatcher and turns its result into the HTTP response by API Gateway's rules for
payload format 2.0. API Gateway's limits apply: a body over 10 MB is answered 413, an integration
that takes longer than 30 s is answered 503, a function error is answered 500.
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import re
import secrets
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, unquote, urlsplit

from goflow.local.lambdas import Invocation
from goflow.local.provisioned import HttpApiSpec, Route

logger = logging.getLogger("goflow.local.gateway")

Invoker = Callable[[str, Any], Invocation]

MAX_BODY_BYTES = 10 * 1024 * 1024
INTEGRATION_TIMEOUT_SECONDS = 30.0
TEXT_TYPES = re.compile(
    r"^(text/.*|application/(json|.*\+json|xml|.*\+xml|javascript|x-www-form-urlencoded|graphql|yaml|x-yaml))$"
)
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "upgrade", "proxy-connection", "te", "trailer"}


@dataclass
class GatewayResponse:
    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""

    @classmethod
    def message(cls, status: int, message: str) -> GatewayResponse:
        body = json.dumps({"message": message}).encode()
        return cls(status, [("content-type", "application/json")], body)


class _RouteMatcher:
    """A route's path as a regular expression; ``{name}`` is one segment, ``{name+}`` the rest."""

    def __init__(self, route: Route) -> None:
        self.route = route
        self.greedy = False
        self.literal_segments = 0
        pattern = ""
        segments = (route.path or "").strip("/").split("/")
        for segment in segments:
            match = re.fullmatch(r"\{([A-Za-z0-9_.-]+)(\+?)\}", segment)
            if match is None:
                pattern += "/" + re.escape(segment)
                self.literal_segments += 1
            elif match.group(2):
                pattern += f"/(?P<{_group(match.group(1))}>.+)"
                self.greedy = True
            else:
                pattern += f"/(?P<{_group(match.group(1))}>[^/]+)"
        self.names = {
            _group(name): name for name in re.findall(r"\{([A-Za-z0-9_.-]+)\+?\}", route.path or "")
        }
        self.regex = re.compile(pattern if pattern != "/" else "/")

    def match(self, method: str, path: str) -> dict[str, str] | None:
        if self.route.method not in ("ANY", method):
            return None
        found = self.regex.fullmatch(path)
        if found is None:
            return None
        return {self.names[key]: unquote(value) for key, value in found.groupdict().items()}

    @property
    def priority(self) -> tuple[int, int, int]:
        """Most specific first: no greedy variable, more literal segments, an exact method."""
        return (0 if self.greedy else 1, self.literal_segments, 0 if self.route.method == "ANY" else 1)


def _group(name: str) -> str:
    return "p_" + re.sub(r"[^A-Za-z0-9_]", "_", name)


@dataclass
class _Request:
    method: str
    target: str
    protocol: str
    headers: list[tuple[str, str]]
    body: bytes
    source_ip: str


class Gateway:
    """The HTTP API: routing, events, responses, limits. :meth:`start` serves it on a thread."""

    def __init__(
        self,
        api: HttpApiSpec,
        invoke: Invoker,
        *,
        host: str = "127.0.0.1",
        port: int = 8080,
        account_id: str = "123456789012",
        integration_timeout: float = INTEGRATION_TIMEOUT_SECONDS,
        max_body_bytes: int = MAX_BODY_BYTES,
    ) -> None:
        self.api = api
        self.invoke = invoke
        self.host = host
        self.port = port
        self.account_id = account_id
        self.integration_timeout = integration_timeout
        self.max_body_bytes = max_body_bytes
        self._routes = sorted(
            (_RouteMatcher(route) for route in api.routes if route.route_key != "$default"),
            key=lambda matcher: matcher.priority,
            reverse=True,
        )
        self._default = next((route for route in api.routes if route.route_key == "$default"), None)
        self._server: _GatewayServer | None = None
        self._thread: threading.Thread | None = None

    # ------------------------------------------------------------------ server
    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self) -> None:
        """Bind (raises ``OSError`` when the port is taken) and serve on a background thread."""
        self._server = _GatewayServer((self.host, self.port), self)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, name="gateway", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(5)
            self._thread = None

    # ------------------------------------------------------------------ routing
    def route(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for matcher in self._routes:
            parameters = matcher.match(method, path)
            if parameters is not None:
                return matcher.route, parameters
        if self._default is not None:
            return self._default, {}
        return None

    # ------------------------------------------------------------------ one request
    def handle(self, request: _Request) -> GatewayResponse:
        """Answer one HTTP request as API Gateway would."""
        request_id = _request_id()
        origin = _header(request.headers, "origin")
        split = urlsplit(request.target)
        path = split.path or "/"
        cors = self.api.cors
        if (
            cors
            and request.method == "OPTIONS"
            and origin
            and _header(request.headers, "access-control-request-method")
        ):
            response = GatewayResponse(204)
            response.headers.extend(_preflight_headers(cors, origin, request.headers))
        else:
            found = self.route(request.method, path)
            if found is None:
                response = GatewayResponse.message(404, "Not Found")
            else:
                route, path_parameters = found
                event = self.event(request, route, path_parameters, request_id)
                response = self._integrate(route, event)
            if cors and origin:
                response.headers = [
                    (k, v) for k, v in response.headers if not k.lower().startswith("access-control-")
                ]
                response.headers.extend(_cors_headers(cors, origin))
        response.headers.append(("apigw-requestid", request_id))
        return response

    def event(
        self, request: _Request, route: Route, path_parameters: Mapping[str, str], request_id: str
    ) -> dict[str, Any]:
        """The payload-2.0 event API Gateway sends the function for ``request``."""
        split = urlsplit(request.target)
        raw_path = split.path or "/"
        headers: dict[str, str] = {}
        cookies: list[str] = []
        for name, value in request.headers:
            key = name.lower()
            if key == "cookie":
                cookies.extend(part.strip() for part in value.split(";") if part.strip())
                continue
            headers[key] = f"{headers[key]},{value}" if key in headers else value
        # API Gateway's own forwarding headers; here the scheme is http and the port is the local one.
        forwarded_for = headers.get("x-forwarded-for")
        headers["x-forwarded-for"] = (
            f"{forwarded_for}, {request.source_ip}" if forwarded_for else request.source_ip
        )
        headers["x-forwarded-port"] = str(self.port)
        headers["x-forwarded-proto"] = "http"
        now = datetime.now(UTC)
        # In AWS the domain name is the API's host (port 443); locally it keeps the port the client used.
        domain = headers.setdefault("host", f"{self.host}:{self.port}")
        event: dict[str, Any] = {
            "version": "2.0",
            "routeKey": route.route_key,
            "rawPath": raw_path,
            "rawQueryString": split.query,
        }
        if cookies:
            event["cookies"] = cookies
        event["headers"] = headers
        query = _query_parameters(split.query)
        if query:
            event["queryStringParameters"] = query
        event["requestContext"] = {
            "accountId": self.account_id,
            "apiId": self.api.api_id,
            "domainName": domain,
            "domainPrefix": domain.split(":", 1)[0].split(".", 1)[0],
            "http": {
                "method": request.method,
                "path": raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route.route_key,
            "stage": "$default",
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        }
        if path_parameters:
            event["pathParameters"] = dict(path_parameters)
        if request.body:
            content_type = headers.get("content-type", "").split(";", 1)[0].strip().lower()
            if _is_text(content_type):
                try:
                    event["body"] = request.body.decode("utf-8")
                    event["isBase64Encoded"] = False
                except UnicodeDecodeError:
                    event["body"] = base64.b64encode(request.body).decode()
                    event["isBase64Encoded"] = True
            else:
                event["body"] = base64.b64encode(request.body).decode()
                event["isBase64Encoded"] = True
        else:
            event["isBase64Encoded"] = False
        return event

    def _integrate(self, route: Route, event: dict[str, Any]) -> GatewayResponse:
        outcome: list[Invocation] = []
        done = threading.Event()

        def call() -> None:
            try:
                outcome.append(self.invoke(route.function, event))
            finally:
                done.set()

        timeout = min(self.integration_timeout, route.timeout_ms / 1000)
        threading.Thread(target=call, name="gateway-integration", daemon=True).start()
        if not done.wait(timeout):
            logger.error("integration timed out", extra={"route": route.route_key, "timeout_s": timeout})
            return GatewayResponse.message(503, "Service Unavailable")
        if not outcome:
            return GatewayResponse.message(500, "Internal Server Error")
        result = outcome[0]
        if result.failed:
            payload = result.payload if isinstance(result.payload, Mapping) else {}
            logger.error(
                "function error",
                extra={
                    "function": route.function,
                    "error_type": result.error_type,
                    "error_message": payload.get("errorMessage"),
                    "stack_trace": "".join(payload.get("stackTrace") or []) or None,
                },
            )
            return GatewayResponse.message(500, "Internal Server Error")
        try:
            return lambda_response(result.payload)
        except (TypeError, ValueError, binascii.Error) as exc:
            logger.error("malformed function response", extra={"function": route.function, "error": str(exc)})
            return GatewayResponse.message(500, "Internal Server Error")


def lambda_response(payload: Any) -> GatewayResponse:
    """A function's result → the HTTP response, by API Gateway's payload-2.0 rules.

    A dict with ``statusCode`` is a structured response; anything else (a dict without it, a string,
    a number, a list) is answered 200 with ``application/json`` and the JSON result as the body.
    """
    if not isinstance(payload, Mapping) or "statusCode" not in payload:
        return GatewayResponse(200, [("content-type", "application/json")], json.dumps(payload).encode())
    status = int(payload["statusCode"])
    headers: list[tuple[str, str]] = []
    for name, values in (payload.get("multiValueHeaders") or {}).items():
        headers.extend((str(name), _text(value)) for value in _as_list(values))
    for name, value in (payload.get("headers") or {}).items():
        headers = [(k, v) for k, v in headers if k.lower() != str(name).lower()]
        headers.append((str(name), _text(value)))
    for cookie in payload.get("cookies") or []:
        headers.append(("set-cookie", str(cookie)))
    headers = [(k, v) for k, v in headers if k.lower() not in HOP_BY_HOP and k.lower() != "content-length"]
    body: Any = payload.get("body")
    if body not in (None, "") and not any(k.lower() == "content-type" for k, _ in headers):
        headers.append(("content-type", "application/json"))
    if body is None:
        data = b""
    elif payload.get("isBase64Encoded"):
        data = base64.b64decode(str(body), validate=True)
    else:
        data = (body if isinstance(body, str) else json.dumps(body)).encode()
    return GatewayResponse(status, headers, data)


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, list | tuple) else [value]


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _is_text(content_type: str) -> bool:
    return bool(content_type) and TEXT_TYPES.match(content_type) is not None


def _header(headers: Iterable[tuple[str, str]], name: str) -> str | None:
    values = [value for key, value in headers if key.lower() == name]
    return ",".join(values) if values else None


def _query_parameters(query: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for key, value in parse_qsl(query, keep_blank_values=True):
        out[key] = f"{out[key]},{value}" if key in out else value
    return out


def _request_id() -> str:
    """An id shaped like API Gateway's (``apigw-requestid``)."""
    return base64.b64encode(secrets.token_bytes(10)).decode().rstrip("=")[:14] + "="


def _allowed_origin(cors: Mapping[str, Any], origin: str) -> str | None:
    allowed = [str(o) for o in cors.get("AllowOrigins") or []]
    if "*" in allowed:
        return "*" if not cors.get("AllowCredentials") else origin
    return origin if origin in allowed else None


def _cors_headers(cors: Mapping[str, Any], origin: str) -> list[tuple[str, str]]:
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return []
    headers = [("access-control-allow-origin", allowed)]
    if cors.get("AllowCredentials"):
        headers.append(("access-control-allow-credentials", "true"))
    if cors.get("ExposeHeaders"):
        headers.append(("access-control-expose-headers", ",".join(str(h) for h in cors["ExposeHeaders"])))
    return headers


def _preflight_headers(
    cors: Mapping[str, Any], origin: str, request_headers: Iterable[tuple[str, str]]
) -> list[tuple[str, str]]:
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return []
    headers = [("access-control-allow-origin", allowed)]
    methods = [str(m) for m in cors.get("AllowMethods") or []]
    if methods:
        headers.append(("access-control-allow-methods", ",".join(methods)))
    allow_headers = [str(h) for h in cors.get("AllowHeaders") or []]
    if allow_headers == ["*"]:
        requested = _header(request_headers, "access-control-request-headers")
        allow_headers = [requested] if requested else []
    if allow_headers:
        headers.append(("access-control-allow-headers", ",".join(allow_headers).lower()))
    if cors.get("AllowCredentials"):
        headers.append(("access-control-allow-credentials", "true"))
    if "MaxAge" in cors:
        headers.append(("access-control-max-age", str(cors["MaxAge"])))
    return headers


class _BodyTooLargeError(Exception):
    pass


class _GatewayServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], gateway: Gateway) -> None:
        super().__init__(address, _GatewayRequestHandler)
        self.gateway = gateway


class _GatewayRequestHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "GoFlowLocalGateway"
    sys_version = ""
    server: _GatewayServer

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (ConnectionResetError, BrokenPipeError):
            self.close_connection = True

    def __getattr__(self, name: str) -> Any:
        # Every HTTP method (do_GET, do_POST, do_PATCH, ...) goes to the gateway.
        if name.startswith("do_"):
            return self._serve
        raise AttributeError(name)

    def _serve(self) -> None:
        started = time.monotonic()
        gateway = self.server.gateway
        try:
            body = self._read_body(gateway.max_body_bytes)
        except _BodyTooLargeError:
            self.close_connection = True
            response = GatewayResponse.message(413, "Request Entity Too Large")
            response.headers.append(("apigw-requestid", _request_id()))
        else:
            request = _Request(
                method=self.command,
                target=self.path,
                protocol=self.request_version,
                headers=list(self.headers.items()),
                body=body,
                source_ip=self.client_address[0],
            )
            try:
                response = gateway.handle(request)
            except Exception:
                logger.exception("gateway error")
                response = GatewayResponse.message(500, "Internal Server Error")
        self._write(response)
        logger.info(
            "%s %s %s",
            self.command,
            self.path,
            response.status,
            extra={"status": response.status, "duration_ms": round((time.monotonic() - started) * 1000, 1)},
        )

    def _read_body(self, limit: int) -> bytes:
        if "chunked" in (self.headers.get("transfer-encoding") or "").lower():
            return self._read_chunked(limit)
        length = int(self.headers.get("content-length") or 0)
        if length > limit:
            raise _BodyTooLargeError
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self, limit: int) -> bytes:
        data = bytearray()
        while True:
            size = int(self.rfile.readline().split(b";", 1)[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline().strip():
                    pass
                return bytes(data)
            if len(data) + size > limit:
                raise _BodyTooLargeError
            data.extend(self.rfile.read(size))
            self.rfile.readline()

    def _write(self, response: GatewayResponse) -> None:
        self.send_response_only(response.status)
        self.send_header("date", self.date_time_string())
        for name, value in response.headers:
            self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        if self.close_connection:
            self.send_header("connection", "close")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - BaseHTTPRequestHandler's name
        logger.debug(format, *args)
