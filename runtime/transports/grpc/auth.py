"""Bearer-token authentication for every RPC (the standard health service is exempt, so
load balancers and orchestrators can probe without the secret)."""

from __future__ import annotations

import grpc

from ..auth import token_ok

EXEMPT_PREFIXES = ("/grpc.health.v1.Health/",)


class BearerAuth(grpc.aio.ServerInterceptor):
    def __init__(self, token: str, metrics=None) -> None:
        self.token = token
        self.metrics = metrics  # counts refusals (cadenza.runtime.metrics.Metrics), optional

    async def intercept_service(self, continuation, details: grpc.HandlerCallDetails):
        handler = await continuation(details)
        if handler is None or details.method.startswith(EXEMPT_PREFIXES):
            return handler
        header = dict(details.invocation_metadata or ()).get("authorization")
        if token_ok(header, self.token):
            return handler
        message = "missing bearer token" if not header else "wrong bearer token"
        if self.metrics is not None:
            self.metrics.error("grpc", "unauthenticated")
        return _refusal(handler, message)


def _refusal(handler: grpc.RpcMethodHandler, message: str) -> grpc.RpcMethodHandler:
    async def refuse(request, context):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)

    async def refuse_stream(request_iterator, context):
        await context.abort(grpc.StatusCode.UNAUTHENTICATED, message)
        yield  # pragma: no cover - makes this an async generator

    kwargs = {"request_deserializer": handler.request_deserializer,
              "response_serializer": handler.response_serializer}
    if handler.request_streaming and handler.response_streaming:
        return grpc.stream_stream_rpc_method_handler(refuse_stream, **kwargs)
    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(refuse, **kwargs)
    if handler.response_streaming:
        return grpc.unary_stream_rpc_method_handler(refuse_stream, **kwargs)
    return grpc.unary_unary_rpc_method_handler(refuse, **kwargs)
