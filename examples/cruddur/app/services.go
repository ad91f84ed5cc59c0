package app

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"math"
	mrand "math/rand/v2"
	"strings"
	"sync"
	"time"
)

// The Cruddur backend's services (backend-flask/services/*.py) with mock
// data, and latencies that give the demo's queries something to find:
// search is slow with a long tail, the noisy user's activities are large
// and slow, everything else is quick.

// Activity is one crud.
type Activity struct {
	UUID         string     `json:"uuid"`
	Handle       string     `json:"handle"`
	DisplayName  string     `json:"display_name,omitempty"`
	Message      string     `json:"message"`
	RepliesCount int        `json:"replies_count"`
	RepostsCount int        `json:"reposts_count"`
	LikesCount   int        `json:"likes_count"`
	Replies      []Activity `json:"replies,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
	ExpiresAt    time.Time  `json:"expires_at"`
}

// MessageGroup is a conversation with one other user.
type MessageGroup struct {
	UUID        string    `json:"uuid"`
	DisplayName string    `json:"display_name"`
	Handle      string    `json:"handle"`
	CreatedAt   time.Time `json:"created_at"`
}

// Message is one direct message.
type Message struct {
	UUID        string    `json:"uuid"`
	DisplayName string    `json:"display_name"`
	Handle      string    `json:"handle"`
	Message     string    `json:"message"`
	CreatedAt   time.Time `json:"created_at"`
}

// Users of the mock data. NoisyUser has far more activity than anyone.
var Users = map[string]string{
	"andrewbrown": "Andrew Brown",
	"worf":        "Worf",
	"garek":       "Garek",
	"bayko":       "Andrew Bayko",
	"londo":       "Londo Mollari",
}

// NoisyUser is the handle whose profile is large and slow.
const NoisyUser = "andrewbrown"

// ErrMessageGroupNotFound is the rare failure of a message post.
var ErrMessageGroupNotFound = errors.New("message group not found")

// ErrValidation answers 422.
var ErrValidation = errors.New("validation failed")

type store struct {
	mu      sync.Mutex
	created []Activity
	sent    map[string][]Message // by other handle
}

func newStore() *store { return &store{sent: map[string][]Message{}} }

func uuid() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

// latency sleeps for a log-normal time around median (p95 ≈ median·e^(1.645σ)).
func latency(ctx context.Context, median time.Duration, sigma float64) {
	d := time.Duration(float64(median) * math.Exp(sigma*mrand.NormFloat64()))
	if d > 5*time.Second {
		d = 5 * time.Second
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

func (s *store) homeActivities(ctx context.Context) []Activity {
	latency(ctx, 12*time.Millisecond, 0.4)
	now := time.Now().UTC()
	out := []Activity{
		{UUID: "68f126b0-1ceb-4a33-88be-d90fa7109eee", Handle: "Andrew Brown", Message: "Cloud is fun!", RepliesCount: 1,
			RepostsCount: 0, LikesCount: 5, CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(5 * 24 * time.Hour),
			Replies: []Activity{{UUID: "26e12864-1c26-5c3a-9658-97a10f8fea67", Handle: "Worf", Message: "This post has no honor!",
				CreatedAt: now.Add(-48 * time.Hour)}}},
		{UUID: "66e12864-8c26-4c3a-9658-95a10f8fea67", Handle: "Worf", Message: "I am out of prune juice",
			CreatedAt: now.Add(-7 * 24 * time.Hour), ExpiresAt: now.Add(10 * 24 * time.Hour)},
		{UUID: "248959df-3079-4947-b847-9e0892d1bab4", Handle: "Garek", Message: "My dear doctor, I am just a simple tailor. Are you sure?",
			CreatedAt: now.Add(-2 * time.Hour), ExpiresAt: now.Add(12 * time.Hour), LikesCount: 1000},
	}
	s.mu.Lock()
	for i := len(s.created) - 1; i >= 0 && len(out) < 20; i-- {
		out = append(out, s.created[i])
	}
	s.mu.Unlock()
	return out
}

func (s *store) notificationsActivities(ctx context.Context) []Activity {
	latency(ctx, 8*time.Millisecond, 0.3)
	now := time.Now().UTC()
	return []Activity{{UUID: "68f126b0-1ceb-4a33-88be-d90fa7109eee", Handle: "coco", Message: "I am a white unicorn",
		RepliesCount: 1, CreatedAt: now.Add(-48 * time.Hour), ExpiresAt: now.Add(5 * 24 * time.Hour)}}
}

// searchActivities is the slow endpoint: a full scan with a long tail.
func (s *store) searchActivities(ctx context.Context, term string) ([]Activity, error) {
	if strings.TrimSpace(term) == "" {
		return nil, fmt.Errorf("%w: search_term_blank", ErrValidation)
	}
	latency(ctx, 180*time.Millisecond, 0.6)
	all := s.homeActivities(ctx)
	var out []Activity
	for _, a := range all {
		if strings.Contains(strings.ToLower(a.Message), strings.ToLower(term)) {
			out = append(out, a)
		}
	}
	return out, nil
}

// userActivities is a profile page. The noisy user has hundreds of cruds,
// so the page is slow.
func (s *store) userActivities(ctx context.Context, handle string) ([]Activity, error) {
	name, ok := Users[handle]
	if !ok {
		return nil, fmt.Errorf("%w: user %q does not exist", ErrValidation, handle)
	}
	n := 3
	if handle == NoisyUser {
		n = 200
		latency(ctx, 140*time.Millisecond, 0.5)
	} else {
		latency(ctx, 15*time.Millisecond, 0.4)
	}
	now := time.Now().UTC()
	out := make([]Activity, n)
	for i := range out {
		out[i] = Activity{UUID: uuid(), Handle: handle, DisplayName: name, Message: fmt.Sprintf("crud #%d", i+1),
			CreatedAt: now.Add(-time.Duration(i) * time.Hour), ExpiresAt: now.Add(7 * 24 * time.Hour)}
	}
	return out, nil
}

func (s *store) createActivity(ctx context.Context, handle, message string, ttl string) (Activity, error) {
	ttls := map[string]time.Duration{"30-days": 30 * 24 * time.Hour, "7-days": 7 * 24 * time.Hour, "3-days": 72 * time.Hour,
		"1-day": 24 * time.Hour, "12-hours": 12 * time.Hour, "3-hours": 3 * time.Hour, "1-hour": time.Hour}
	d, ok := ttls[ttl]
	switch {
	case handle == "":
		return Activity{}, fmt.Errorf("%w: user_handle_blank", ErrValidation)
	case !ok:
		return Activity{}, fmt.Errorf("%w: ttl_blank", ErrValidation)
	case message == "":
		return Activity{}, fmt.Errorf("%w: message_blank", ErrValidation)
	case len(message) > 280:
		return Activity{}, fmt.Errorf("%w: message_exceed_max_chars", ErrValidation)
	}
	latency(ctx, 25*time.Millisecond, 0.4)
	now := time.Now().UTC()
	a := Activity{UUID: uuid(), Handle: handle, Message: message, CreatedAt: now, ExpiresAt: now.Add(d)}
	s.mu.Lock()
	s.created = append(s.created, a)
	if len(s.created) > 100 {
		s.created = s.created[len(s.created)-100:]
	}
	s.mu.Unlock()
	return a, nil
}

func (s *store) messageGroups(ctx context.Context, handle string) []MessageGroup {
	latency(ctx, 10*time.Millisecond, 0.3)
	now := time.Now().UTC()
	var out []MessageGroup
	for _, h := range []string{"worf", "garek", "bayko"} {
		if h != handle {
			out = append(out, MessageGroup{UUID: uuid(), DisplayName: Users[h], Handle: h, CreatedAt: now.Add(-time.Hour)})
		}
	}
	return out
}

// messageGroupHandles have a conversation with the signed-in user; a post
// to anyone else fails (the rare error).
var messageGroupHandles = map[string]bool{"worf": true, "garek": true, "bayko": true, "andrewbrown": true}

func (s *store) messages(ctx context.Context, handle string) ([]Message, error) {
	if !messageGroupHandles[handle] {
		return nil, fmt.Errorf("%w: no conversation with %q", ErrMessageGroupNotFound, handle)
	}
	latency(ctx, 14*time.Millisecond, 0.4)
	now := time.Now().UTC()
	out := []Message{
		{UUID: "4e81c06a-db0f-4281-b4cc-98208537772a", DisplayName: "Andrew Brown", Handle: "andrewbrown",
			Message: "Cloud is fun!", CreatedAt: now.Add(-time.Hour)},
		{UUID: "66e12864-8c26-4c3a-9658-95a10f8fea67", DisplayName: Users[handle], Handle: handle,
			Message: "This post has no honor!", CreatedAt: now.Add(-30 * time.Minute)},
	}
	s.mu.Lock()
	out = append(out, s.sent[handle]...)
	s.mu.Unlock()
	return out, nil
}

func (s *store) createMessage(ctx context.Context, from, to, message string) (Message, error) {
	if message == "" {
		return Message{}, fmt.Errorf("%w: message_blank", ErrValidation)
	}
	latency(ctx, 20*time.Millisecond, 0.4)
	if !messageGroupHandles[to] {
		return Message{}, fmt.Errorf("%w: no conversation between %q and %q", ErrMessageGroupNotFound, from, to)
	}
	m := Message{UUID: uuid(), DisplayName: Users[from], Handle: from, Message: message, CreatedAt: time.Now().UTC()}
	s.mu.Lock()
	l := append(s.sent[to], m)
	if len(l) > 50 {
		l = l[len(l)-50:]
	}
	s.sent[to] = l
	s.mu.Unlock()
	return m, nil
}
