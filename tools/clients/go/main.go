// Command flotilla-go-client is a Flotilla client in Go, on code generated from proto/flotilla/*/v1
// (tools/clients/build.sh go OUT builds it offline, in GOPATH mode on Debian's Go packages).
//
// Over mutual TLS as an operator: creates and starts a container with a constraint, follows
// WatchEvents until the container's `start` event, makes a call that fails INVALID_ARGUMENT and
// reads its google.rpc details from the `grpc-status-details-bin` trailer, then removes the
// container. Prints one JSON line of what it saw; exits non-zero on any failure.
//
//	flotilla-go-client --address 127.0.0.1:PORT --ca ca.crt --cert operator.crt --key operator.key \
//	    [--name NAME] [--constraint zone==a]
package main

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/ioutil"
	"os"
	"strings"
	"time"
	"unicode"

	pb "flotilla.local/clusterv1"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/status"
)

const callTimeout = 30 * time.Second

type engineSeen struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Address string `json:"address"`
}

type violationSeen struct {
	Field       string `json:"field"`
	Description string `json:"description"`
}

type errorSeen struct {
	Code       string          `json:"code"`
	StatusCode int32           `json:"statusCode"`
	Message    string          `json:"message"`
	Reason     string          `json:"reason"`
	Domain     string          `json:"domain"`
	Violations []violationSeen `json:"violations"`
	Placement  *placementSeen  `json:"placement"`
}

// placementSeen is the PlacementExplanation detail of a create no engine can take.
type placementSeen struct {
	Summary string   `json:"summary"`
	Filters []string `json:"filters"`
}

type containerSeen struct {
	ID      string     `json:"id"`
	Name    string     `json:"name"`
	Started bool       `json:"started"`
	Engine  engineSeen `json:"engine"`
}

type eventSeen struct {
	Type      string     `json:"type"`
	Action    string     `json:"action"`
	Container string     `json:"container"`
	State     string     `json:"state"`
	Engine    engineSeen `json:"engine"`
}

type seen struct {
	Client     string         `json:"client"`
	Grpc       string         `json:"grpc"`
	Container  *containerSeen `json:"container,omitempty"`
	StartEvent *eventSeen     `json:"startEvent,omitempty"`
	Error      *errorSeen     `json:"error,omitempty"`
	Refusal    *errorSeen     `json:"refusal,omitempty"`
	Removed    bool           `json:"removed"`
}

func engineOf(ref *pb.EngineRef) engineSeen {
	return engineSeen{ID: ref.GetId(), Name: ref.GetName(), Address: ref.GetAddress()}
}

func dial(address, caFile, certFile, keyFile string) (*grpc.ClientConn, error) {
	pem, err := ioutil.ReadFile(caFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("no certificate in %s", caFile)
	}
	pair, err := tls.LoadX509KeyPair(certFile, keyFile)
	if err != nil {
		return nil, err
	}
	creds := credentials.NewTLS(&tls.Config{RootCAs: pool, Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS12})
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	defer cancel()
	return grpc.DialContext(ctx, address, grpc.WithTransportCredentials(creds), grpc.WithBlock())
}

// codeName is a status code's canonical name, as every other gRPC library spells it:
// codes.InvalidArgument is "INVALID_ARGUMENT".
func codeName(c codes.Code) string {
	var b strings.Builder
	for i, r := range c.String() {
		if i > 0 && unicode.IsUpper(r) {
			b.WriteByte('_')
		}
		b.WriteRune(unicode.ToUpper(r))
	}
	return b.String()
}

// statusDetails reads the google.rpc.Status a failed call carries in its trailer.
func statusDetails(err error) (*errorSeen, error) {
	st, ok := status.FromError(err)
	if !ok {
		return nil, fmt.Errorf("not a gRPC status: %v", err)
	}
	proto := st.Proto()
	out := &errorSeen{Code: codeName(st.Code()), StatusCode: proto.GetCode(), Message: st.Message(), Violations: []violationSeen{}}
	details := st.Details()
	if len(details) == 0 {
		return nil, fmt.Errorf("the error has no grpc-status-details-bin details: %v", err)
	}
	for _, d := range details {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			out.Reason, out.Domain = d.GetReason(), d.GetDomain()
		case *errdetails.BadRequest:
			for _, v := range d.GetFieldViolations() {
				out.Violations = append(out.Violations, violationSeen{Field: v.GetField(), Description: v.GetDescription()})
			}
		case *pb.PlacementExplanation:
			out.Placement = &placementSeen{Summary: d.GetSummary(), Filters: []string{}}
			for _, e := range d.GetEngines() {
				out.Placement.Filters = append(out.Placement.Filters, e.GetFilter())
			}
		case error:
			return nil, fmt.Errorf("undecodable status detail: %v", d)
		}
	}
	return out, nil
}

func run() (result *seen, err error) {
	address := flag.String("address", "", "the cluster-manager's host:port")
	caFile := flag.String("ca", "", "the cluster CA certificate (PEM)")
	certFile := flag.String("cert", "", "an operator certificate (PEM)")
	keyFile := flag.String("key", "", "the certificate's private key (PEM)")
	name := flag.String("name", fmt.Sprintf("go-client-%d", time.Now().UnixNano()/1e6), "the container's name")
	constraint := flag.String("constraint", "zone==a", "the container's constraint")
	image := flag.String("image", "busybox:local", "the container's image")
	flag.Parse()
	if *address == "" || *caFile == "" || *certFile == "" || *keyFile == "" {
		return nil, errors.New("--address, --ca, --cert and --key are required")
	}

	conn, err := dial(*address, *caFile, *certFile, *keyFile)
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", *address, err)
	}
	defer conn.Close()
	client := pb.NewClusterServiceClient(conn)
	out := &seen{Client: "go", Grpc: grpc.Version}

	// Subscribe first: the manager sends the stream's headers once the subscription is live. The
	// stream's deadline bounds the whole wait for the start event.
	watchCtx, stopWatch := context.WithTimeout(context.Background(), 2*callTimeout)
	defer stopWatch()
	events, err := client.WatchEvents(watchCtx, &pb.WatchEventsRequest{Types: []string{"container"}})
	if err != nil {
		return nil, fmt.Errorf("WatchEvents: %w", err)
	}
	if _, err := events.Header(); err != nil {
		return nil, fmt.Errorf("WatchEvents headers: %w", err)
	}

	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	created, err := client.CreateContainer(ctx, &pb.CreateContainerRequest{
		Spec: &pb.ContainerSpec{
			Name: *name, Image: *image, Command: []string{"sleep", "300"}, NetworkMode: "none",
			Constraints: []string{*constraint},
		},
		Start: true,
	})
	cancel()
	if err != nil {
		return nil, fmt.Errorf("CreateContainer: %w", err)
	}
	defer func() {
		ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
		defer cancel()
		_, rmErr := client.RemoveContainer(ctx, &pb.RemoveContainerRequest{Container: created.GetId(), Force: true})
		if rmErr != nil && err == nil {
			result, err = nil, fmt.Errorf("RemoveContainer: %w", rmErr)
		} else if rmErr == nil {
			out.Removed = true
		}
	}()
	out.Container = &containerSeen{created.GetId(), created.GetName(), created.GetStarted(), engineOf(created.GetEngine())}

	for out.StartEvent == nil {
		response, err := events.Recv()
		if err != nil {
			return nil, fmt.Errorf("waiting for the start event of %s: %w", created.GetId(), err)
		}
		ev := response.GetEvent()
		if ev.GetType() == "container" && ev.GetAction() == "start" && ev.GetDocker().GetActorId() == created.GetId() {
			out.StartEvent = &eventSeen{ev.GetType(), ev.GetAction(), ev.GetDocker().GetActorId(), ev.GetContainer().GetState(), engineOf(ev.GetEngine())}
		}
	}
	stopWatch()

	ctx, cancel = context.WithTimeout(context.Background(), callTimeout)
	_, addErr := client.AddEngine(ctx, &pb.AddEngineRequest{Address: "no-port-here"})
	cancel()
	if addErr == nil {
		return nil, errors.New(`AddEngine("no-port-here") succeeded; expected INVALID_ARGUMENT`)
	}
	if status.Code(addErr) != codes.InvalidArgument {
		return nil, fmt.Errorf("AddEngine: expected INVALID_ARGUMENT: %w", addErr)
	}
	if out.Error, err = statusDetails(addErr); err != nil {
		return nil, err
	}

	// A create no engine can take: FAILED_PRECONDITION with the PlacementExplanation detail.
	ctx, cancel = context.WithTimeout(context.Background(), callTimeout)
	_, refused := client.CreateContainer(ctx, &pb.CreateContainerRequest{Spec: &pb.ContainerSpec{Name: *name + "-nowhere", Image: *image, NetworkMode: "none", Constraints: []string{"zone==nowhere"}}})
	cancel()
	if status.Code(refused) != codes.FailedPrecondition {
		return nil, fmt.Errorf("CreateContainer(zone==nowhere): expected FAILED_PRECONDITION: %v", refused)
	}
	if out.Refusal, err = statusDetails(refused); err != nil {
		return nil, err
	}
	return out, nil
}

func main() {
	result, err := run()
	if err != nil {
		fmt.Fprintf(os.Stderr, "go client: %v\n", err)
		os.Exit(1)
	}
	line, err := json.Marshal(result)
	if err != nil {
		fmt.Fprintf(os.Stderr, "go client: %v\n", err)
		os.Exit(1)
	}
	fmt.Println(string(line))
}
