"""Generated protobuf/gRPC code for the Cadenza wire contract (cadenza.v1).

The *_pb2*.py files beside this one are generated from runtime.proto by the command in
proto/README.md; do not edit them by hand.
"""
