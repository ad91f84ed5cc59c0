package rollbar

import (
	"unicode/utf8"

	"github.com/waggle-hq/waggle/internal/event"
)

// Fields of an occurrence event in the error dataset (see
// docs/guides/rollbar.md). Empty values are left out.
const (
	fSignalType   = "meta.signal_type"
	fError        = "error"
	fName         = "name"
	fTitle        = "title"
	fLevel        = "level"
	fItemID       = "rollbar.item_id"
	fItemCounter  = "rollbar.item_counter"
	fOccurrenceID = "rollbar.occurrence_id"
	fUUID         = "rollbar.uuid"
	fFingerprint  = "rollbar.fingerprint"
	fData         = "rollbar.data"
	fExcType      = "exception.type"
	fExcMessage   = "exception.message"
	fChainLen     = "exception.chain_length"
	fMessage      = "message"
	fEnvironment  = "environment"
	fCodeVersion  = "code_version"
	fFramework    = "framework"
	fPlatform     = "platform"
	fLanguage     = "language"
	fContext      = "context"
	fReqURL       = "request.url"
	fReqMethod    = "request.method"
	fUserIP       = "request.user_ip"
	fPersonID     = "person.id"
	fPersonName   = "person.username"
	fPersonEmail  = "person.email"
	fServerHost   = "server.host"
	fNotifier     = "notifier.name"
	fNotifierVer  = "notifier.version"
	fClientTS     = "rollbar.timestamp"
	fTraceID      = "trace.trace_id"
	// fParentID holds the span the error happened in: an occurrence is not
	// a span of its own, so, as with span events and log lines, the span it
	// belongs to is its parent.
	fParentID = "trace.parent_id"
)

// event builds the occurrence's event for the error dataset.
func (o *occurrence) event(it *Item) event.Event {
	ev := event.Event{Time: o.recv, Dataset: Dataset, SampleRate: 1, Fields: make([]event.Field, 0, 32)}
	add := func(k, v string) {
		if v != "" {
			ev.Fields = append(ev.Fields, event.Field{Key: k, Value: event.String(v)})
		}
	}
	in := o.it
	ev.Fields = append(ev.Fields,
		event.Field{Key: fSignalType, Value: event.String("error")},
		event.Field{Key: fError, Value: event.Bool(true)},
		event.Field{Key: fItemID, Value: event.Int(it.ID)},
		event.Field{Key: fItemCounter, Value: event.Int(it.Counter)},
		event.Field{Key: fOccurrenceID, Value: event.Int(o.obs.OccurrenceID)},
	)
	add(fName, it.Title)
	add(fTitle, it.Title)
	add(fLevel, it.Level)
	add(fUUID, in.UUID)
	add(fFingerprint, it.Hash)
	if len(in.Chain) > 0 {
		add(fExcType, in.Chain[0].Class)
		add(fExcMessage, in.Chain[0].Message)
		if len(in.Chain) > 1 {
			ev.Fields = append(ev.Fields, event.Field{Key: fChainLen, Value: event.Int(int64(len(in.Chain)))})
		}
	} else {
		add(fMessage, in.Message)
	}
	add(fEnvironment, in.Environment)
	add(fCodeVersion, in.CodeVersion)
	add(fFramework, in.Framework)
	add(fPlatform, in.Platform)
	add(fLanguage, in.Language)
	add(fContext, in.Context)
	add(fReqURL, in.RequestURL)
	add(fReqMethod, in.RequestMethod)
	add(fUserIP, in.UserIP)
	add(fPersonID, in.PersonID)
	add(fPersonName, in.PersonUsername)
	add(fPersonEmail, in.PersonEmail)
	add(fServerHost, in.ServerHost)
	add(fNotifier, in.Notifier)
	add(fNotifierVer, in.NotifierVer)
	add(fTraceID, in.TraceID)
	add(fParentID, in.SpanID)
	if in.Timestamp > 0 {
		ev.Fields = append(ev.Fields, event.Field{Key: fClientTS, Value: event.Int(in.Timestamp)})
	}
	data := o.obs.Data
	if !utf8.Valid(data) {
		data = []byte(cleanString(string(data), len(data)*3))
	}
	add(fData, string(data))
	return ev
}
