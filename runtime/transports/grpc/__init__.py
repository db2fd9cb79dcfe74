"""The gRPC transport (grpc.aio): servicer, auth interceptor, server assembly."""
