"""Assemble the gRPC server: our service, standard health checking, server reflection."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_health.v1.health import aio as health_aio
from grpc_reflection.v1alpha import reflection

from cadenza.v1 import runtime_pb2

from ...server import Runtime
from .auth import BearerAuth
from .servicer import RuntimeServicer, add_to_server

SERVICE = runtime_pb2.DESCRIPTOR.services_by_name["Runtime"].full_name
MAX_MESSAGE_BYTES = 1 << 20  # 1 MiB: larger requests get RESOURCE_EXHAUSTED from gRPC


class GrpcServer:
    def __init__(self, runtime: Runtime, host: str, port: int, token: str | None = None,
                 tls: tuple[bytes, bytes] | None = None) -> None:
        interceptors = [BearerAuth(token, runtime.metrics)] if token else []
        self.server = grpc.aio.server(interceptors=interceptors, options=[
            ("grpc.max_receive_message_length", MAX_MESSAGE_BYTES),
            ("grpc.max_send_message_length", 8 * MAX_MESSAGE_BYTES),
            ("grpc.so_reuseport", 0),
        ])
        add_to_server(RuntimeServicer(runtime), self.server)
        self.health = health_aio.HealthServicer()
        health_pb2_grpc.add_HealthServicer_to_server(self.health, self.server)
        reflection.enable_server_reflection(
            (SERVICE, health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
             reflection.SERVICE_NAME), self.server)
        address = f"{host}:{port}"
        if tls:
            key, cert = tls
            self.port = self.server.add_secure_port(
                address, grpc.ssl_server_credentials([(key, cert)]))
        else:
            self.port = self.server.add_insecure_port(address)

    async def start(self) -> None:
        await self.server.start()
        for service in ("", SERVICE):
            await self.health.set(service, health_pb2.HealthCheckResponse.SERVING)

    async def stop(self, grace: float = 2.0) -> None:
        # Flip health first so balancers stop routing here, then drain.
        await self.health.enter_graceful_shutdown()
        await self.server.stop(grace)
