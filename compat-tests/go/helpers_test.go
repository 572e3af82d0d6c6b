package franzcompat

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// Every wait in this suite is bounded by one of these.
const (
	opTimeout   = 30 * time.Second // one admin call, one produce, one commit
	pollTimeout = 45 * time.Second // until a consumer has read what it must read
)

func bootstrap(t *testing.T) string {
	t.Helper()
	b := os.Getenv("BOOTSTRAP")
	if b == "" {
		t.Fatal("BOOTSTRAP is not set (run through compat-tests/lib/broker_process.py)")
	}
	return b
}

// uniqueName gives every topic and group a name of its own, so the suite can share a cluster with
// other runs and never relies on an empty one.
func uniqueName(t *testing.T, kind string) string {
	var b [4]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	name := strings.NewReplacer("/", "-", "_", "-").Replace(t.Name())
	return fmt.Sprintf("franz-%s-%s-%s", kind, strings.ToLower(name), hex.EncodeToString(b[:]))
}

// errorLog records what the client logs at ERROR level: franz-go logs there only what should not
// happen, so a test fails on any of it.
type errorLog struct {
	mu   sync.Mutex
	name string
	msgs []string
}

func (l *errorLog) Level() kgo.LogLevel { return kgo.LogLevelWarn }

func (l *errorLog) Log(level kgo.LogLevel, msg string, keyvals ...any) {
	line := fmt.Sprintf("[%s] %s %s %v", l.name, level, msg, keyvals)
	fmt.Fprintln(os.Stderr, line)
	if level == kgo.LogLevelError {
		l.mu.Lock()
		l.msgs = append(l.msgs, line)
		l.mu.Unlock()
	}
}

func (l *errorLog) errors() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]string(nil), l.msgs...)
}

// newClient is a kgo client on the broker under test; it is closed when the test ends, and the
// test fails if the client logged an error.
func newClient(t *testing.T, name string, opts ...kgo.Opt) *kgo.Client {
	t.Helper()
	log := &errorLog{name: t.Name() + "/" + name}
	all := append([]kgo.Opt{
		kgo.SeedBrokers(bootstrap(t)),
		kgo.ClientID("franz-compat-" + name),
		kgo.WithLogger(log),
		kgo.RetryTimeout(opTimeout),
	}, opts...)
	cl, err := kgo.NewClient(all...)
	if err != nil {
		t.Fatalf("kgo.NewClient(%s): %v", name, err)
	}
	var once sync.Once
	t.Cleanup(func() {
		once.Do(cl.Close)
		if msgs := log.errors(); len(msgs) > 0 {
			t.Errorf("client %s logged %d error(s):\n%s", name, len(msgs), strings.Join(msgs, "\n"))
		}
	})
	return cl
}

func newAdmin(t *testing.T) *kadm.Client {
	t.Helper()
	// A short metadata cache: the tests poll metadata for changes they just made.
	return kadm.NewClient(newClient(t, "admin", kgo.MetadataMinAge(200*time.Millisecond)))
}

func ctxFor(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// createTopic creates a topic with the cluster's default replication factor and deletes it when
// the test ends.
func createTopic(t *testing.T, adm *kadm.Client, partitions int32, configs map[string]*string) string {
	t.Helper()
	topic := uniqueName(t, "t")
	resp, err := adm.CreateTopic(ctxFor(t, opTimeout), partitions, -1, configs, topic)
	if err != nil {
		t.Fatalf("CreateTopic %s: %v (%s)", topic, err, resp.ErrMessage)
	}
	if resp.NumPartitions != partitions {
		t.Fatalf("CreateTopic %s: %d partitions, want %d", topic, resp.NumPartitions, partitions)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), opTimeout)
		defer cancel()
		if _, err := adm.DeleteTopic(ctx, topic); err != nil {
			t.Logf("cleanup: DeleteTopic %s: %v", topic, err)
		}
	})
	waitTopicReady(t, adm, topic, partitions)
	return topic
}

// waitTopicReady polls metadata until every partition of the topic has a leader (on a cluster
// metadata propagates; a single broker answers at once).
func waitTopicReady(t *testing.T, adm *kadm.Client, topic string, partitions int32) {
	t.Helper()
	waitUntil(t, opTimeout, fmt.Sprintf("topic %s with %d led partitions", topic, partitions), func() bool {
		ts, err := adm.ListTopics(ctxFor(t, opTimeout), topic)
		if err != nil {
			return false
		}
		td, ok := ts[topic]
		if !ok || td.Err != nil || int32(len(td.Partitions)) != partitions {
			return false
		}
		for _, p := range td.Partitions {
			if p.Err != nil || p.Leader < 0 {
				return false
			}
		}
		return true
	})
}

// waitUntil polls cond every 50 ms until it holds or the timeout passes.
func waitUntil(t *testing.T, timeout time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if cond() {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %s waiting for %s", timeout, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// pollN polls until exactly want records have arrived (failing on fetch errors, on more than want
// records, and after pollTimeout), then returns them.
func pollN(t *testing.T, cl *kgo.Client, want int) []*kgo.Record {
	t.Helper()
	got, err := pollNErr(cl, want)
	if err != nil {
		t.Fatal(err)
	}
	return got
}

// pollNErr is pollN for a goroutine other than the test's own.
func pollNErr(cl *kgo.Client, want int) ([]*kgo.Record, error) {
	var got []*kgo.Record
	deadline := time.Now().Add(pollTimeout)
	for len(got) < want {
		if time.Now().After(deadline) {
			return got, fmt.Errorf("polled %d records of %d within %s", len(got), want, pollTimeout)
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		fs := cl.PollFetches(ctx)
		cancel()
		var ferr error
		fs.EachError(func(topic string, p int32, err error) {
			if err != context.DeadlineExceeded && ferr == nil {
				ferr = fmt.Errorf("fetch error on %s/%d: %w", topic, p, err)
			}
		})
		if ferr != nil {
			return got, ferr
		}
		got = append(got, fs.Records()...)
	}
	if len(got) != want {
		return got, fmt.Errorf("polled %d records, want exactly %d", len(got), want)
	}
	return got, nil
}

// pollNothing polls for the given time and fails if any record arrives.
func pollNothing(t *testing.T, cl *kgo.Client, d time.Duration) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	for ctx.Err() == nil {
		fs := cl.PollFetches(ctx)
		if n := fs.NumRecords(); n > 0 {
			r := fs.Records()[0]
			t.Fatalf("%d unexpected record(s), the first %s/%d@%d %q", n, r.Topic, r.Partition, r.Offset, r.Value)
		}
	}
}

func strp(s string) *string { return &s }
