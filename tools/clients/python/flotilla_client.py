#!/usr/bin/python3
"""A Flotilla client in Python, on code generated from proto/flotilla/*/v1 (tools/clients/build.sh).

Over mutual TLS as an operator: creates and starts a container with a constraint, follows
WatchEvents until the container's `start` event, makes a call that fails INVALID_ARGUMENT and reads
its google.rpc details from the `grpc-status-details-bin` trailer, then removes the container.
Prints one JSON line of what it saw; exits non-zero on any failure.

  PYTHONPATH=OUT/python /usr/bin/python3 flotilla_client.py --address 127.0.0.1:PORT \
      --ca ca.crt --cert operator.crt --key operator.key [--name NAME] [--constraint zone==a]
"""
import argparse
import json
import sys
import time

import grpc

from flotilla.cluster.v1 import cluster_pb2, cluster_pb2_grpc
from google.rpc import error_details_pb2, status_pb2

CALL_TIMEOUT_S = 30
STATUS_DETAILS_KEY = 'grpc-status-details-bin'


def parse_args():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument('--address', required=True, help="the cluster-manager's host:port")
    p.add_argument('--ca', required=True, help='the cluster CA certificate (PEM)')
    p.add_argument('--cert', required=True, help='an operator certificate (PEM)')
    p.add_argument('--key', required=True, help="the certificate's private key (PEM)")
    p.add_argument('--name', default='python-client-%d' % int(time.time() * 1000))
    p.add_argument('--constraint', default='zone==a')
    p.add_argument('--image', default='busybox:local')
    return p.parse_args()


def read(path):
    with open(path, 'rb') as f:
        return f.read()


def engine_of(ref):
    return {'id': ref.id, 'name': ref.name, 'address': ref.address}


def status_details(err):
    """The google.rpc.Status of a failed call, decoded from its trailer, as a dict."""
    raw = None
    for key, value in err.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY:
            raw = value
    if raw is None:
        raise RuntimeError('the error has no %s trailer: %s' % (STATUS_DETAILS_KEY, err))
    st = status_pb2.Status.FromString(raw)
    seen = {'code': grpc.StatusCode(err.code()).name, 'statusCode': st.code, 'message': st.message,
            'reason': None, 'domain': None, 'violations': [], 'placement': None}
    for any_ in st.details:
        if any_.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            any_.Unpack(info)
            seen['reason'], seen['domain'] = info.reason, info.domain
        elif any_.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            any_.Unpack(bad)
            seen['violations'] += [{'field': v.field, 'description': v.description} for v in bad.field_violations]
        elif any_.Is(cluster_pb2.PlacementExplanation.DESCRIPTOR):
            placement = cluster_pb2.PlacementExplanation()
            any_.Unpack(placement)
            seen['placement'] = {'summary': placement.summary, 'filters': [e.filter for e in placement.engines]}
    return seen


def main():
    args = parse_args()
    creds = grpc.ssl_channel_credentials(root_certificates=read(args.ca), private_key=read(args.key),
                                         certificate_chain=read(args.cert))
    seen = {'client': 'python', 'grpc': grpc.__version__}
    with grpc.secure_channel(args.address, creds) as channel:
        stub = cluster_pb2_grpc.ClusterServiceStub(channel)
        # Subscribe first: the manager sends the stream's headers once the subscription is live.
        # Its deadline bounds the whole wait for the start event.
        events = stub.WatchEvents(cluster_pb2.WatchEventsRequest(types=['container']), timeout=2 * CALL_TIMEOUT_S)
        events.initial_metadata()
        created_id = None
        try:
            spec = cluster_pb2.ContainerSpec(name=args.name, image=args.image, command=['sleep', '300'],
                                             network_mode='none', constraints=[args.constraint])
            created = stub.CreateContainer(cluster_pb2.CreateContainerRequest(spec=spec, start=True),
                                           timeout=CALL_TIMEOUT_S)
            created_id = created.id
            seen['container'] = {'id': created.id, 'name': created.name, 'started': created.started,
                                 'engine': engine_of(created.engine)}

            for response in events:
                ev = response.event
                if ev.type == 'container' and ev.action == 'start' and ev.docker.actor_id == created_id:
                    seen['startEvent'] = {'type': ev.type, 'action': ev.action, 'container': ev.docker.actor_id,
                                          'state': ev.container.state, 'engine': engine_of(ev.engine)}
                    break
            else:
                raise RuntimeError('WatchEvents ended before the start event of %s' % created_id)
            events.cancel()

            try:
                stub.AddEngine(cluster_pb2.AddEngineRequest(address='no-port-here'), timeout=CALL_TIMEOUT_S)
                raise RuntimeError('AddEngine("no-port-here") succeeded; expected INVALID_ARGUMENT')
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.INVALID_ARGUMENT:
                    raise
                seen['error'] = status_details(err)

            # A create no engine can take: FAILED_PRECONDITION with the PlacementExplanation detail.
            try:
                nowhere = cluster_pb2.ContainerSpec(name=args.name + '-nowhere', image=args.image, network_mode='none',
                                                    constraints=['zone==nowhere'])
                stub.CreateContainer(cluster_pb2.CreateContainerRequest(spec=nowhere), timeout=CALL_TIMEOUT_S)
                raise RuntimeError('CreateContainer(zone==nowhere) succeeded; expected FAILED_PRECONDITION')
            except grpc.RpcError as err:
                if err.code() != grpc.StatusCode.FAILED_PRECONDITION:
                    raise
                seen['refusal'] = status_details(err)
        finally:
            events.cancel()
            if created_id is not None:
                stub.RemoveContainer(cluster_pb2.RemoveContainerRequest(container=created_id, force=True),
                                     timeout=CALL_TIMEOUT_S)
                seen['removed'] = True
    print(json.dumps(seen), flush=True)


if __name__ == '__main__':
    try:
        main()
    except grpc.RpcError as err:
        print('python client: %s: %s' % (err.code().name, err.details()), file=sys.stderr)
        sys.exit(1)
    except Exception as err:  # any failure is a non-zero exit with the reason
        print('python client: %s' % err, file=sys.stderr)
        sys.exit(1)
