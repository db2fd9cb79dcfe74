"""Transports: wire formats at the edge (gRPC, WebSocket, ...). They translate to calls on
`cadenza.runtime.server.Runtime`; none of them knows an engine."""
