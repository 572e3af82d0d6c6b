package franzcompat

import (
	"bytes"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// batchHooks records the codec and record count of every batch franz-go writes and reads.
type batchHooks struct {
	mu       sync.Mutex
	written  map[int32][]kgo.ProduceBatchMetrics
	readRecs map[int32]int
	readCmp  map[int32]map[uint8]int
}

func newBatchHooks() *batchHooks {
	return &batchHooks{
		written:  map[int32][]kgo.ProduceBatchMetrics{},
		readRecs: map[int32]int{},
		readCmp:  map[int32]map[uint8]int{},
	}
}

func (h *batchHooks) OnProduceBatchWritten(_ kgo.BrokerMetadata, _ string, p int32, m kgo.ProduceBatchMetrics) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.written[p] = append(h.written[p], m)
}

func (h *batchHooks) OnFetchBatchRead(_ kgo.BrokerMetadata, _ string, p int32, m kgo.FetchBatchMetrics) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.readRecs[p] += m.NumRecords
	if h.readCmp[p] == nil {
		h.readCmp[p] = map[uint8]int{}
	}
	h.readCmp[p][m.CompressionType]++
}

var codecs = []struct {
	name  string
	codec kgo.CompressionCodec
	id    uint8 // the batch attribute bits
}{
	{"none", kgo.NoCompression(), 0},
	{"gzip", kgo.GzipCompression(), 1},
	{"snappy", kgo.SnappyCompression(), 2},
	{"lz4", kgo.Lz4Compression(), 3},
	{"zstd", kgo.ZstdCompression(), 4},
}

// Each codec writes 200 keyed records with headers and chosen timestamps into a partition of its
// own; the batches must go out and come back with that codec, and every record must come back as
// written, at the offset the produce answer gave it.
func TestProduceEveryCodec(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t)
	topic := createTopic(t, adm, int32(len(codecs)), map[string]*string{"compression.type": strp("producer")})
	const n = 200
	base := time.Now().Add(-time.Hour).Truncate(time.Millisecond)

	for i, c := range codecs {
		p := int32(i)
		t.Run(c.name, func(t *testing.T) {
			hooks := newBatchHooks()
			prod := newClient(t, "producer-"+c.name,
				kgo.DefaultProduceTopic(topic),
				kgo.RecordPartitioner(kgo.ManualPartitioner()),
				kgo.ProducerBatchCompression(c.codec),
				kgo.WithHooks(hooks))
			var recs []*kgo.Record
			for j := 0; j < n; j++ {
				recs = append(recs, &kgo.Record{
					Partition: p,
					Key:       []byte(fmt.Sprintf("%s-key-%03d", c.name, j)),
					Value:     []byte(fmt.Sprintf("%s value %03d %s", c.name, j, strings.Repeat("compressible ", 20))),
					Headers: []kgo.RecordHeader{
						{Key: "codec", Value: []byte(c.name)},
						{Key: "index", Value: []byte(fmt.Sprint(j))},
						{Key: "empty", Value: nil},
					},
					Timestamp: base.Add(time.Duration(j) * time.Millisecond),
				})
			}
			// Half in one synchronous call, then the rest in a second one: at least two batches.
			if err := prod.ProduceSync(ctxFor(t, opTimeout), recs[:n/2]...).FirstErr(); err != nil {
				t.Fatalf("ProduceSync: %v", err)
			}
			if err := prod.ProduceSync(ctxFor(t, opTimeout), recs[n/2:]...).FirstErr(); err != nil {
				t.Fatalf("ProduceSync: %v", err)
			}
			for j, r := range recs {
				if r.Offset != int64(j) || r.Partition != p {
					t.Fatalf("record %d produced at %d/%d, want %d/%d", j, r.Partition, r.Offset, p, j)
				}
			}
			// franz-go calls OnProduceBatchWritten after it has finished the batch's records, so
			// the hook for the last batch may still be on its way when ProduceSync returns.
			written := 0
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				hooks.mu.Lock()
				written = 0
				for _, m := range hooks.written[p] {
					written += m.NumRecords
				}
				hooks.mu.Unlock()
				if written >= n || time.Now().After(deadline) {
					break
				}
			}
			hooks.mu.Lock()
			written = 0
			for _, m := range hooks.written[p] {
				written += m.NumRecords
				if m.CompressionType != c.id {
					t.Errorf("a batch went out with codec %d, want %d (%s)", m.CompressionType, c.id, c.name)
				}
				if c.id != 0 && m.CompressedBytes >= m.UncompressedBytes {
					t.Errorf("batch not compressed: %d >= %d bytes", m.CompressedBytes, m.UncompressedBytes)
				}
			}
			hooks.mu.Unlock()
			if written != n {
				t.Fatalf("hooks saw %d records written, want %d", written, n)
			}

			cons := newClient(t, "consumer-"+c.name,
				kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {p: kgo.NewOffset().AtStart()}}),
				kgo.WithHooks(hooks))
			got := pollN(t, cons, n)
			for j, r := range got {
				w := recs[j]
				if r.Topic != topic || r.Partition != p || r.Offset != int64(j) {
					t.Fatalf("record %d read at %s/%d@%d", j, r.Topic, r.Partition, r.Offset)
				}
				if !bytes.Equal(r.Key, w.Key) || !bytes.Equal(r.Value, w.Value) {
					t.Fatalf("record %d: key %q value %q, want %q %q", j, r.Key, r.Value, w.Key, w.Value)
				}
				if !r.Timestamp.Equal(w.Timestamp) || r.Attrs.TimestampType() != 0 {
					t.Fatalf("record %d: timestamp %v (type %d), want %v (create time)", j, r.Timestamp, r.Attrs.TimestampType(), w.Timestamp)
				}
				if r.Attrs.CompressionType() != c.id {
					t.Fatalf("record %d came in a batch with codec %d, want %d", j, r.Attrs.CompressionType(), c.id)
				}
				if len(r.Headers) != len(w.Headers) {
					t.Fatalf("record %d: %d headers, want %d", j, len(r.Headers), len(w.Headers))
				}
				for h := range w.Headers {
					if r.Headers[h].Key != w.Headers[h].Key || !bytes.Equal(r.Headers[h].Value, w.Headers[h].Value) {
						t.Fatalf("record %d header %d: %q=%q, want %q=%q", j, h, r.Headers[h].Key, r.Headers[h].Value, w.Headers[h].Key, w.Headers[h].Value)
					}
				}
			}
			hooks.mu.Lock()
			defer hooks.mu.Unlock()
			if hooks.readRecs[p] != n {
				t.Errorf("hooks saw %d records read, want %d", hooks.readRecs[p], n)
			}
			for id := range hooks.readCmp[p] {
				if id != c.id {
					t.Errorf("a batch came back with codec %d, want %d", id, c.id)
				}
			}
		})
	}
}

// The default producer is idempotent with acks=all: records produced synchronously and
// asynchronously across partitions land exactly once, at contiguous offsets, under the client's
// producer id, and DescribeProducers shows that producer's last sequence per partition.
func TestProduceIdempotentSyncAndAsync(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t)
	const partitions = 3
	topic := createTopic(t, adm, partitions, nil)
	prod := newClient(t, "producer", kgo.DefaultProduceTopic(topic), kgo.ProducerLinger(5*time.Millisecond))

	const nSync, nAsync = 300, 3000
	var sync []*kgo.Record
	for i := 0; i < nSync; i++ {
		sync = append(sync, &kgo.Record{Key: []byte(fmt.Sprintf("sync-%04d", i)), Value: []byte(fmt.Sprintf("sync value %d", i))})
	}
	for i := 0; i < nSync; i += 100 {
		if err := prod.ProduceSync(ctxFor(t, opTimeout), sync[i:i+100]...).FirstErr(); err != nil {
			t.Fatalf("ProduceSync: %v", err)
		}
	}
	var ok, failed atomic.Int64
	var firstErr atomic.Value
	for i := 0; i < nAsync; i++ {
		r := &kgo.Record{Key: []byte(fmt.Sprintf("async-%04d", i)), Value: []byte(fmt.Sprintf("async value %d", i))}
		prod.Produce(ctxFor(t, opTimeout), r, func(r *kgo.Record, err error) {
			if err != nil {
				failed.Add(1)
				firstErr.CompareAndSwap(nil, err)
				return
			}
			ok.Add(1)
		})
	}
	if err := prod.Flush(ctxFor(t, opTimeout)); err != nil {
		t.Fatalf("Flush: %v", err)
	}
	if failed.Load() != 0 || ok.Load() != nAsync {
		t.Fatalf("async: %d acknowledged, %d failed (first: %v), want %d acknowledged", ok.Load(), failed.Load(), firstErr.Load(), nAsync)
	}
	pid, epoch, err := prod.ProducerID(ctxFor(t, opTimeout))
	if err != nil || pid < 0 {
		t.Fatalf("ProducerID: %d/%d %v", pid, epoch, err)
	}

	ends, err := adm.ListEndOffsets(ctxFor(t, opTimeout), topic)
	if err != nil || ends.Error() != nil {
		t.Fatalf("ListEndOffsets: %v %v", err, ends.Error())
	}
	perPartition := map[int32]int64{}
	var total int64
	ends.Each(func(o kadm.ListedOffset) { perPartition[o.Partition] = o.Offset; total += o.Offset })
	if total != nSync+nAsync || len(perPartition) != partitions {
		t.Fatalf("end offsets %v add up to %d, want %d over %d partitions", perPartition, total, nSync+nAsync, partitions)
	}

	cons := newClient(t, "consumer", kgo.ConsumeTopics(topic), kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()))
	got := pollN(t, cons, nSync+nAsync)
	seen := map[string]bool{}
	next := map[int32]int64{}
	for _, r := range got {
		k := string(r.Key)
		if seen[k] {
			t.Fatalf("key %s read twice", k)
		}
		seen[k] = true
		if r.Offset != next[r.Partition] {
			t.Fatalf("partition %d: offset %d, want %d (no gaps, no duplicates)", r.Partition, r.Offset, next[r.Partition])
		}
		next[r.Partition]++
		var kind string
		var idx int
		if _, err := fmt.Sscanf(strings.Replace(k, "-", " ", 1), "%s %d", &kind, &idx); err != nil {
			t.Fatalf("key %q: %v", k, err)
		}
		if want := fmt.Sprintf("%s value %d", kind, idx); string(r.Value) != want {
			t.Fatalf("key %s: value %q, want %q", k, r.Value, want)
		}
		if r.ProducerID != pid || r.ProducerEpoch != epoch {
			t.Fatalf("key %s: producer %d/%d, want %d/%d", k, r.ProducerID, r.ProducerEpoch, pid, epoch)
		}
	}
	for p, end := range perPartition {
		if next[p] != end {
			t.Fatalf("partition %d: read %d records, end offset %d", p, next[p], end)
		}
	}

	if !brokerServes(t, adm, 61) {
		t.Log("the broker does not advertise DescribeProducers (key 61); skipping that check")
		return
	}
	described, err := adm.DescribeProducers(ctxFor(t, opTimeout), kadm.TopicsSet{topic: {0: {}, 1: {}, 2: {}}})
	if err != nil {
		t.Fatalf("DescribeProducers: %v", err)
	}
	dt := described[topic]
	if len(dt.Partitions) != partitions {
		t.Fatalf("DescribeProducers: %d partitions, want %d", len(dt.Partitions), partitions)
	}
	for p, dp := range dt.Partitions {
		if dp.Err != nil {
			t.Fatalf("DescribeProducers %d: %v", p, dp.Err)
		}
		if len(dp.ActiveProducers) != 1 {
			t.Fatalf("DescribeProducers %d: %d producers, want 1", p, len(dp.ActiveProducers))
		}
		d, ok := dp.ActiveProducers[pid]
		if !ok {
			t.Fatalf("DescribeProducers %d: producer %d missing: %+v", p, pid, dp.ActiveProducers)
		}
		if d.ProducerEpoch != epoch || int64(d.LastSequence) != perPartition[p]-1 || d.CurrentTxnStartOffset != -1 {
			t.Fatalf("DescribeProducers %d: %+v, want epoch %d, last sequence %d, no transaction", p, d, epoch, perPartition[p]-1)
		}
		if age := time.Since(time.UnixMilli(d.LastTimestamp)); age < -time.Minute || age > 5*time.Minute {
			t.Fatalf("DescribeProducers %d: last timestamp %d is not recent", p, d.LastTimestamp)
		}
	}
}

// brokerServes tells whether every broker advertises the API key.
func brokerServes(t *testing.T, adm *kadm.Client, key int16) bool {
	t.Helper()
	vs, err := adm.ApiVersions(ctxFor(t, opTimeout))
	if err != nil {
		t.Fatalf("ApiVersions: %v", err)
	}
	serves := len(vs) > 0
	vs.Each(func(v kadm.BrokerApiVersions) {
		if v.Err != nil {
			t.Fatalf("ApiVersions from %d: %v", v.NodeID, v.Err)
		}
		if _, _, ok := v.KeyVersions(key); !ok {
			serves = false
		}
	})
	return serves
}
