package otlp

import (
	"context"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	_ "google.golang.org/grpc/encoding/gzip" // OTLP exporters may gzip requests
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/tap"
	"google.golang.org/protobuf/types/known/durationpb"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/waggle-hq/waggle/internal/ingest"
)

// NewGRPCServer returns a gRPC server offering OTLP's TraceService,
// LogsService and MetricsService. Messages are bounded by MaxBodyBytes
// (after decompression); gzip is accepted. A request arriving while the
// ingest budget is spent is refused before its message is read.
func (r *Receiver) NewGRPCServer(opts ...grpc.ServerOption) *grpc.Server {
	opts = append([]grpc.ServerOption{
		grpc.MaxRecvMsgSize(MaxBodyBytes),
		grpc.InTapHandle(r.tap),
	}, opts...)
	s := grpc.NewServer(opts...)
	ptraceotlp.RegisterGRPCServer(s, &traceService{r: r})
	plogotlp.RegisterGRPCServer(s, &logsService{r: r})
	pmetricotlp.RegisterGRPCServer(s, &metricsService{r: r})
	return s
}

// tap refuses new streams while the memory budget is spent.
func (r *Receiver) tap(ctx context.Context, _ *tap.Info) (context.Context, error) {
	b := r.Pipeline.Budget()
	if b.Limit() > 0 && b.Used() >= b.Limit() {
		return nil, grpcError(errOverloaded)
	}
	return ctx, nil
}

// grpcError converts a failure to a gRPC status; retryable ones carry
// RetryInfo, which OTLP exporters need to retry RESOURCE_EXHAUSTED.
func grpcError(f *failure) error {
	st := status.New(f.code, f.msg)
	if f.retry {
		if d, err := st.WithDetails(&errdetails.RetryInfo{RetryDelay: durationpb.New(ingest.RetryAfter)}); err == nil {
			st = d
		}
	}
	return st.Err()
}

func firstMD(md metadata.MD, key string) string {
	if v := md.Get(key); len(v) > 0 {
		return v[0]
	}
	return ""
}

// exportGRPC is the gRPC exchange: authenticate from the metadata, reserve
// the decoded request's size in the budget, translate behind the decode
// gate, submit, and return the partial-success counts once durable.
func (r *Receiver) exportGRPC(ctx context.Context, size int, classicNeedsDataset bool, translate func(requestInfo) translation) (int64, string, error) {
	md, _ := metadata.FromIncomingContext(ctx)
	key := firstMD(md, teamHeader)
	ri := requestInfo{dataset: firstMD(md, datasetHeader), now: r.now(), classic: classicKey(key)}
	if ri.classic && classicNeedsDataset && strings.TrimSpace(ri.dataset) == "" {
		return 0, "", grpcError(errMissingDataset)
	}
	p, fail := r.authenticate(ctx, key)
	if fail != nil {
		return 0, "", grpcError(fail)
	}
	reserve := int64(parseFactor * size)
	if !r.Pipeline.Budget().TryAcquire(reserve) {
		return 0, "", grpcError(errOverloaded)
	}
	leave, err := r.Pipeline.DecodeGate().Enter(ctx)
	if err != nil {
		r.Pipeline.Budget().Release(reserve)
		return 0, "", status.FromContextError(err).Err()
	}
	t := translate(ri)
	leave()
	r.Pipeline.Budget().Release(reserve)
	rejected, reason, fail := r.accept(ctx, p, t)
	if fail != nil {
		return 0, "", grpcError(fail)
	}
	return rejected, reason, nil
}

type traceService struct {
	ptraceotlp.UnimplementedGRPCServer
	r *Receiver
}

func (s *traceService) Export(ctx context.Context, req ptraceotlp.ExportRequest) (ptraceotlp.ExportResponse, error) {
	td := req.Traces()
	size := (&ptrace.ProtoMarshaler{}).TracesSize(td)
	rejected, msg, err := s.r.exportGRPC(ctx, size, true, func(ri requestInfo) translation { return translateTraces(td, ri) })
	resp := ptraceotlp.NewExportResponse()
	if err != nil {
		return resp, err
	}
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedSpans(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp, nil
}

type logsService struct {
	plogotlp.UnimplementedGRPCServer
	r *Receiver
}

func (s *logsService) Export(ctx context.Context, req plogotlp.ExportRequest) (plogotlp.ExportResponse, error) {
	ld := req.Logs()
	size := (&plog.ProtoMarshaler{}).LogsSize(ld)
	rejected, msg, err := s.r.exportGRPC(ctx, size, false, func(ri requestInfo) translation { return translateLogs(ld, ri) })
	resp := plogotlp.NewExportResponse()
	if err != nil {
		return resp, err
	}
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedLogRecords(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp, nil
}

type metricsService struct {
	pmetricotlp.UnimplementedGRPCServer
	r *Receiver
}

func (s *metricsService) Export(ctx context.Context, req pmetricotlp.ExportRequest) (pmetricotlp.ExportResponse, error) {
	md := req.Metrics()
	size := (&pmetric.ProtoMarshaler{}).MetricsSize(md)
	rejected, msg, err := s.r.exportGRPC(ctx, size, true, func(ri requestInfo) translation { return translateMetrics(md, ri) })
	resp := pmetricotlp.NewExportResponse()
	if err != nil {
		return resp, err
	}
	if rejected > 0 {
		resp.PartialSuccess().SetRejectedDataPoints(rejected)
		resp.PartialSuccess().SetErrorMessage(msg)
	}
	return resp, nil
}
