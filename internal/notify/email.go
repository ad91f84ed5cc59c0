package notify

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"mime"
	"mime/quotedprintable"
	"net"
	"net/mail"
	"net/smtp"
	"net/textproto"
	"strings"
	"sync/atomic"
	"time"
)

// SMTPConfig is the mail server email recipients are sent through.
type SMTPConfig struct {
	// Addr is host:port (WAGGLE_SMTP_ADDR); empty turns email off.
	Addr string
	// From is the sender address (WAGGLE_SMTP_FROM).
	From string
	// Username and Password, when set, authenticate with PLAIN, which
	// net/smtp only allows over TLS or to localhost.
	Username, Password string
	// ImplicitTLS connects with TLS from the start (port 465); otherwise
	// STARTTLS is used when the server offers it.
	ImplicitTLS bool
	// InsecureSkipVerify skips certificate verification (tests, lab set-ups).
	InsecureSkipVerify bool
}

// EmailMessage is the payload of an email delivery.
type EmailMessage struct {
	Subject string `json:"subject"`
	Text    string `json:"text"`
}

// EmailSender mails a delivery's payload (an EmailMessage as JSON) to the
// recipient's address (Target) through the configured SMTP server. A 5xx
// SMTP reply is permanent; 4xx replies and network errors are retried. Until
// Configure is called with an address, deliveries fail (and are retried) with
// "no SMTP server configured".
type EmailSender struct {
	cfg atomic.Pointer[SMTPConfig]
}

// Configure sets the SMTP server; safe while sending.
func (s *EmailSender) Configure(c SMTPConfig) { s.cfg.Store(&c) }

// ConfigureSMTP configures d's email sender (if it is the built-in one).
func (d *Deliverer) ConfigureSMTP(c SMTPConfig) {
	if es, ok := d.opt.Senders[KindEmail].(*EmailSender); ok {
		es.Configure(c)
	}
}

// CheckEmail reports whether s is one plain mail address.
func CheckEmail(s string) error {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Address != s || strings.ContainsAny(s, "\r\n") {
		return fmt.Errorf("%w: %.100q is not an email address", ErrInvalid, s)
	}
	return nil
}

// Send implements Sender.
func (s *EmailSender) Send(ctx context.Context, d Delivery) (Result, error) {
	cfg := s.cfg.Load()
	if cfg == nil || cfg.Addr == "" {
		return Result{}, errors.New("email: no SMTP server configured (WAGGLE_SMTP_ADDR)")
	}
	var m EmailMessage
	if err := json.Unmarshal(d.Payload, &m); err != nil {
		return Result{Permanent: true}, fmt.Errorf("email: payload: %w", err)
	}
	if err := CheckEmail(d.Recipient.Target); err != nil {
		return Result{Permanent: true}, err
	}
	msg, err := buildMessage(cfg.From, d.Recipient.Target, m)
	if err != nil {
		return Result{Permanent: true}, err
	}
	err = sendMail(ctx, *cfg, d.Recipient.Target, msg)
	var tpErr *textproto.Error
	if errors.As(err, &tpErr) {
		return Result{Status: tpErr.Code, Permanent: tpErr.Code >= 500}, fmt.Errorf("email: %w", err)
	}
	if err != nil {
		return Result{}, fmt.Errorf("email: %w", err)
	}
	return Result{Status: 250}, nil
}

// buildMessage renders an RFC 5322 message with a quoted-printable UTF-8
// text body.
func buildMessage(from, to string, m EmailMessage) ([]byte, error) {
	if strings.ContainsAny(from, "\r\n") {
		return nil, errors.New("email: bad from address")
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	host := "waggle"
	if _, h, ok := strings.Cut(from, "@"); ok {
		host = strings.Trim(h, "> ")
	}
	var b bytes.Buffer
	subject := strings.NewReplacer("\r", " ", "\n", " ").Replace(m.Subject)
	fmt.Fprintf(&b, "From: %s\r\n", from)
	fmt.Fprintf(&b, "To: %s\r\n", to)
	fmt.Fprintf(&b, "Subject: %s\r\n", mime.QEncoding.Encode("utf-8", subject))
	fmt.Fprintf(&b, "Date: %s\r\n", time.Now().UTC().Format(time.RFC1123Z))
	fmt.Fprintf(&b, "Message-ID: <%s@%s>\r\n", hex.EncodeToString(id[:]), host)
	b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: quoted-printable\r\n\r\n")
	qp := quotedprintable.NewWriter(&b)
	if _, err := qp.Write([]byte(strings.ReplaceAll(m.Text, "\n", "\r\n"))); err != nil {
		return nil, err
	}
	if err := qp.Close(); err != nil {
		return nil, err
	}
	b.WriteString("\r\n")
	return b.Bytes(), nil
}

// sendMail is smtp.SendMail bounded by ctx: the connection's deadline is
// ctx's, and ctx's cancellation closes it.
func sendMail(ctx context.Context, cfg SMTPConfig, to string, msg []byte) error {
	host, _, err := net.SplitHostPort(cfg.Addr)
	if err != nil {
		return fmt.Errorf("smtp address %q: %w", cfg.Addr, err)
	}
	tlsCfg := &tls.Config{ServerName: host, InsecureSkipVerify: cfg.InsecureSkipVerify} //nolint:gosec // opt-in
	var conn net.Conn
	dialer := &net.Dialer{}
	if cfg.ImplicitTLS {
		conn, err = (&tls.Dialer{NetDialer: dialer, Config: tlsCfg}).DialContext(ctx, "tcp", cfg.Addr)
	} else {
		conn, err = dialer.DialContext(ctx, "tcp", cfg.Addr)
	}
	if err != nil {
		return err
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	stop := context.AfterFunc(ctx, func() { _ = conn.Close() })
	defer stop()
	c, err := smtp.NewClient(conn, host)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.Hello("localhost"); err != nil {
		return err
	}
	if ok, _ := c.Extension("STARTTLS"); ok && !cfg.ImplicitTLS {
		if err := c.StartTLS(tlsCfg); err != nil {
			return err
		}
	}
	if cfg.Username != "" {
		if err := c.Auth(smtp.PlainAuth("", cfg.Username, cfg.Password, host)); err != nil {
			return err
		}
	}
	from := cfg.From
	if a, err := mail.ParseAddress(from); err == nil {
		from = a.Address
	}
	if err := c.Mail(from); err != nil {
		return err
	}
	if err := c.Rcpt(to); err != nil {
		return err
	}
	w, err := c.Data()
	if err != nil {
		return err
	}
	if _, err := w.Write(msg); err != nil {
		return err
	}
	if err := w.Close(); err != nil {
		return err
	}
	return c.Quit()
}
