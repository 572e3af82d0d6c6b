package franzcompat

import (
	"errors"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kerr"
	"github.com/twmb/franz-go/pkg/kgo"
	"github.com/twmb/franz-go/pkg/kmsg"
	"github.com/twmb/franz-go/pkg/kversion"
)

func describeConfig(t *testing.T, adm *kadm.Client, topic, key string) kadm.Config {
	t.Helper()
	rcs, err := adm.DescribeTopicConfigs(ctxFor(t, opTimeout), topic)
	if err != nil {
		t.Fatalf("DescribeTopicConfigs: %v", err)
	}
	rc, err := rcs.On(topic, nil)
	if err != nil || rc.Err != nil {
		t.Fatalf("DescribeTopicConfigs %s: %v %v", topic, err, rc.Err)
	}
	for _, c := range rc.Configs {
		if c.Key == key {
			return c
		}
	}
	t.Fatalf("DescribeTopicConfigs %s: no %s among %d configs", topic, key, len(rc.Configs))
	return kadm.Config{}
}

// expectConfig polls (bounded) until the topic's config reads value from source: on a cluster an
// altered config reaches the brokers a little after the answer.
func expectConfig(t *testing.T, adm *kadm.Client, topic, key, value string, source kmsg.ConfigSource) {
	t.Helper()
	expectConfigFn(t, adm, topic, key, fmt.Sprintf("%q (%s)", value, source), func(c kadm.Config) bool {
		return c.MaybeValue() == value && c.Source == source
	})
}

func expectConfigFn(t *testing.T, adm *kadm.Client, topic, key, want string, ok func(kadm.Config) bool) {
	t.Helper()
	deadline := time.Now().Add(opTimeout)
	for {
		c := describeConfig(t, adm, topic, key)
		if ok(c) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s %s = %q (%s), want %s", topic, key, c.MaybeValue(), c.Source, want)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// CreateTopics (several at once, with configs and partition counts), ListTopics, the configs
// they were created with, incremental SET/DELETE/APPEND, CreatePartitions and DeleteTopics.
func TestAdminTopics(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t)
	a, b := uniqueName(t, "a"), uniqueName(t, "b")
	configs := map[string]*string{
		"retention.ms":      strp("3600000"),
		"cleanup.policy":    strp("delete"),
		"max.message.bytes": strp("200000"),
	}
	created, err := adm.CreateTopics(ctxFor(t, opTimeout), 3, -1, configs, a, b)
	if err != nil || created.Error() != nil {
		t.Fatalf("CreateTopics: %v %v", err, created.Error())
	}
	t.Cleanup(func() { adm.DeleteTopics(ctxFor(t, opTimeout), a, b) })
	for _, topic := range []string{a, b} {
		r := created[topic]
		if r.NumPartitions != 3 || r.ReplicationFactor < 1 || r.ID == (kadm.TopicID{}) {
			t.Fatalf("CreateTopics %s: %d partitions, replication factor %d, id %s", topic, r.NumPartitions, r.ReplicationFactor, r.ID)
		}
		if c := r.Configs["retention.ms"]; c.MaybeValue() != "3600000" || c.Source != kmsg.ConfigSourceDynamicTopicConfig {
			t.Fatalf("CreateTopics %s: retention.ms %q (%s)", topic, c.MaybeValue(), c.Source)
		}
		waitTopicReady(t, adm, topic, 3)
	}
	again, err := adm.CreateTopics(ctxFor(t, opTimeout), 1, -1, nil, a)
	if err != nil || !errors.Is(again[a].Err, kerr.TopicAlreadyExists) {
		t.Fatalf("creating %s again: %v %v, want TOPIC_ALREADY_EXISTS", a, err, again[a].Err)
	}

	meta, err := adm.BrokerMetadata(ctxFor(t, opTimeout))
	if err != nil {
		t.Fatalf("BrokerMetadata: %v", err)
	}
	nodes := map[int32]bool{}
	for _, br := range meta.Brokers {
		nodes[br.NodeID] = true
	}
	all, err := adm.ListTopics(ctxFor(t, opTimeout))
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	for _, topic := range []string{a, b} {
		td, ok := all[topic]
		if !ok || td.Err != nil || td.ID != created[topic].ID || td.IsInternal || len(td.Partitions) != 3 {
			t.Fatalf("ListTopics %s: present %v, %+v", topic, ok, td)
		}
		for _, p := range td.Partitions {
			if !nodes[p.Leader] || len(p.Replicas) != int(created[topic].ReplicationFactor) || len(p.ISR) == 0 {
				t.Fatalf("ListTopics %s/%d: leader %d (brokers %v), replicas %v, isr %v", topic, p.Partition, p.Leader, nodes, p.Replicas, p.ISR)
			}
		}
	}
	for name, td := range all {
		if td.IsInternal {
			t.Fatalf("ListTopics lists the internal topic %s", name)
		}
	}

	expectConfig(t, adm, a, "retention.ms", "3600000", kmsg.ConfigSourceDynamicTopicConfig)
	expectConfig(t, adm, a, "cleanup.policy", "delete", kmsg.ConfigSourceDynamicTopicConfig)
	expectConfig(t, adm, a, "max.message.bytes", "200000", kmsg.ConfigSourceDynamicTopicConfig)
	if c := describeConfig(t, adm, a, "segment.bytes"); c.Source == kmsg.ConfigSourceDynamicTopicConfig || c.Value == nil {
		t.Fatalf("segment.bytes was not set on the topic but reads %q (%s)", c.MaybeValue(), c.Source)
	}

	// Incremental: set one, delete one, append to a list.
	alter := []kadm.AlterConfig{
		{Op: kadm.SetConfig, Name: "retention.ms", Value: strp("7200000")},
		{Op: kadm.DeleteConfig, Name: "max.message.bytes"},
		{Op: kadm.AppendConfig, Name: "cleanup.policy", Value: strp("compact")},
	}
	altered, err := adm.AlterTopicConfigs(ctxFor(t, opTimeout), alter, a)
	if err != nil {
		t.Fatalf("AlterTopicConfigs: %v", err)
	}
	if r, err := altered.On(a, nil); err != nil || r.Err != nil {
		t.Fatalf("AlterTopicConfigs %s: %v %v %s", a, err, r.Err, r.ErrMessage)
	}
	expectConfig(t, adm, a, "retention.ms", "7200000", kmsg.ConfigSourceDynamicTopicConfig)
	expectConfig(t, adm, a, "cleanup.policy", "delete,compact", kmsg.ConfigSourceDynamicTopicConfig)
	expectConfigFn(t, adm, a, "max.message.bytes", "the broker's default after DELETE", func(c kadm.Config) bool {
		return c.Source != kmsg.ConfigSourceDynamicTopicConfig && c.MaybeValue() != "200000" && c.Value != nil
	})
	// b kept its own configs.
	expectConfig(t, adm, b, "retention.ms", "3600000", kmsg.ConfigSourceDynamicTopicConfig)
	bad, err := adm.AlterTopicConfigs(ctxFor(t, opTimeout), []kadm.AlterConfig{{Op: kadm.SetConfig, Name: "retention.ms", Value: strp("soon")}}, b)
	if err != nil {
		t.Fatalf("AlterTopicConfigs with a bad value: %v", err)
	}
	if r, _ := bad.On(b, nil); !errors.Is(r.Err, kerr.InvalidConfig) {
		t.Fatalf("retention.ms=soon: %v, want INVALID_CONFIG", r.Err)
	}
	expectConfig(t, adm, b, "retention.ms", "3600000", kmsg.ConfigSourceDynamicTopicConfig)

	// CreatePartitions: 3 -> 5, then a decrease is refused.
	cp, err := adm.CreatePartitions(ctxFor(t, opTimeout), 2, a)
	if err != nil || cp[a].Err != nil {
		t.Fatalf("CreatePartitions +2: %v %v %s", err, cp[a].Err, cp[a].ErrMessage)
	}
	waitTopicReady(t, adm, a, 5)
	down, err := adm.UpdatePartitions(ctxFor(t, opTimeout), 2, a)
	if err != nil || !errors.Is(down[a].Err, kerr.InvalidPartitions) {
		t.Fatalf("UpdatePartitions to 2: %v %v, want INVALID_PARTITIONS", err, down[a].Err)
	}
	ends, err := adm.ListEndOffsets(ctxFor(t, opTimeout), a)
	if err != nil || len(ends[a]) != 5 {
		t.Fatalf("ListEndOffsets after CreatePartitions: %v %v", err, ends[a])
	}

	// DeleteTopics: b goes, a stays; deleting b again is UNKNOWN_TOPIC_OR_PARTITION.
	deleted, err := adm.DeleteTopics(ctxFor(t, opTimeout), b)
	if err != nil || deleted[b].Err != nil {
		t.Fatalf("DeleteTopics %s: %v %v", b, err, deleted[b].Err)
	}
	waitUntil(t, opTimeout, "the deleted topic to leave the topic list", func() bool {
		ts, err := adm.ListTopics(ctxFor(t, opTimeout))
		_, hasA := ts[a]
		_, hasB := ts[b]
		return err == nil && hasA && !hasB
	})
	waitUntil(t, opTimeout, "a second delete to find no topic", func() bool {
		again, err := adm.DeleteTopics(ctxFor(t, opTimeout), b)
		return err == nil && errors.Is(again[b].Err, kerr.UnknownTopicOrPartition)
	})
}

// ListStartOffsets, ListEndOffsets, ListOffsetsAfterMilli, ListMaxTimestampOffsets and
// DeleteRecords on records with chosen timestamps.
func TestAdminOffsets(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t)
	topic := createTopic(t, adm, 2, nil)
	prod := newClient(t, "producer", kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	base := time.Now().Add(-time.Hour).Truncate(time.Second).UnixMilli()
	var recs []*kgo.Record
	for i := 0; i < 10; i++ {
		recs = append(recs, &kgo.Record{Partition: 0, Value: []byte(fmt.Sprint(i)), Timestamp: time.UnixMilli(base + int64(i)*1000)})
	}
	if err := prod.ProduceSync(ctxFor(t, opTimeout), recs...).FirstErr(); err != nil {
		t.Fatalf("ProduceSync: %v", err)
	}

	list := func(what string, fn func() (kadm.ListedOffsets, error)) map[int32]kadm.ListedOffset {
		t.Helper()
		l, err := fn()
		if err != nil || l.Error() != nil {
			t.Fatalf("%s: %v %v", what, err, l.Error())
		}
		if len(l[topic]) != 2 {
			t.Fatalf("%s: %v, want two partitions", what, l[topic])
		}
		return l[topic]
	}
	expect := func(what string, got map[int32]kadm.ListedOffset, want0, want1 int64) {
		t.Helper()
		if got[0].Offset != want0 || got[1].Offset != want1 {
			t.Fatalf("%s: partition 0 at %d, 1 at %d; want %d and %d", what, got[0].Offset, got[1].Offset, want0, want1)
		}
	}
	expect("ListStartOffsets", list("ListStartOffsets", func() (kadm.ListedOffsets, error) { return adm.ListStartOffsets(ctxFor(t, opTimeout), topic) }), 0, 0)
	expect("ListEndOffsets", list("ListEndOffsets", func() (kadm.ListedOffsets, error) { return adm.ListEndOffsets(ctxFor(t, opTimeout), topic) }), 10, 0)

	after := list("ListOffsetsAfterMilli", func() (kadm.ListedOffsets, error) {
		return adm.ListOffsetsAfterMilli(ctxFor(t, opTimeout), base+1500, topic)
	})
	// The first record at or after base+1.5s is offset 2; partition 1 has none, so kadm falls back
	// to its end offset.
	expect("ListOffsetsAfterMilli(base+1500)", after, 2, 0)
	if after[0].Timestamp != base+2000 {
		t.Fatalf("ListOffsetsAfterMilli: timestamp %d, want %d", after[0].Timestamp, base+2000)
	}
	exact := list("ListOffsetsAfterMilli", func() (kadm.ListedOffsets, error) {
		return adm.ListOffsetsAfterMilli(ctxFor(t, opTimeout), base+7000, topic)
	})
	expect("ListOffsetsAfterMilli(base+7000)", exact, 7, 0)
	past := list("ListOffsetsAfterMilli", func() (kadm.ListedOffsets, error) {
		return adm.ListOffsetsAfterMilli(ctxFor(t, opTimeout), base+60000, topic)
	})
	expect("ListOffsetsAfterMilli(after the last record)", past, 10, 0)
	maxTs := list("ListMaxTimestampOffsets", func() (kadm.ListedOffsets, error) { return adm.ListMaxTimestampOffsets(ctxFor(t, opTimeout), topic) })
	expect("ListMaxTimestampOffsets", maxTs, 9, -1)
	if maxTs[0].Timestamp != base+9000 {
		t.Fatalf("ListMaxTimestampOffsets: timestamp %d, want %d", maxTs[0].Timestamp, base+9000)
	}

	var to kadm.Offsets
	to.AddOffset(topic, 0, 4, -1)
	dr, err := adm.DeleteRecords(ctxFor(t, opTimeout), to)
	if err != nil || dr.Error() != nil {
		t.Fatalf("DeleteRecords: %v %v", err, dr.Error())
	}
	if r, _ := dr.Lookup(topic, 0); r.LowWatermark != 4 {
		t.Fatalf("DeleteRecords: low watermark %d, want 4", r.LowWatermark)
	}
	expect("ListStartOffsets after DeleteRecords", list("ListStartOffsets", func() (kadm.ListedOffsets, error) { return adm.ListStartOffsets(ctxFor(t, opTimeout), topic) }), 4, 0)
	expect("ListEndOffsets after DeleteRecords", list("ListEndOffsets", func() (kadm.ListedOffsets, error) { return adm.ListEndOffsets(ctxFor(t, opTimeout), topic) }), 10, 0)
	cons := newClient(t, "consumer", kgo.ConsumePartitions(map[string]map[int32]kgo.Offset{topic: {0: kgo.NewOffset().AtStart()}}))
	got := pollN(t, cons, 6)
	for i, r := range got {
		if r.Offset != int64(4+i) || string(r.Value) != fmt.Sprint(4+i) {
			t.Fatalf("after DeleteRecords record %d: offset %d value %q", i, r.Offset, r.Value)
		}
	}
	var beyond kadm.Offsets
	beyond.AddOffset(topic, 0, 11, -1)
	dr, err = adm.DeleteRecords(ctxFor(t, opTimeout), beyond)
	if err != nil {
		t.Fatalf("DeleteRecords beyond the end: %v", err)
	}
	if r, _ := dr.Lookup(topic, 0); !errors.Is(r.Err, kerr.OffsetOutOfRange) {
		t.Fatalf("DeleteRecords beyond the end: %v, want OFFSET_OUT_OF_RANGE", r.Err)
	}
}

// ListGroups, DescribeGroups, CommitOffsets, FetchOffsets, DeleteOffsets and DeleteGroups, with an
// offsets-only group and a live consumer group.
func TestAdminGroups(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t)
	topic := createTopic(t, adm, 2, nil)
	simple, live := uniqueName(t, "simple"), uniqueName(t, "live")
	t.Cleanup(func() { adm.DeleteGroups(ctxFor(t, opTimeout), simple, live) })

	var os kadm.Offsets
	os.Add(kadm.Offset{Topic: topic, Partition: 0, At: 3, LeaderEpoch: -1, Metadata: "first"})
	os.Add(kadm.Offset{Topic: topic, Partition: 1, At: 1, LeaderEpoch: -1, Metadata: "second"})
	if err := adm.CommitAllOffsets(ctxFor(t, opTimeout), simple, os); err != nil {
		t.Fatalf("CommitAllOffsets: %v", err)
	}
	fetched, err := adm.FetchOffsets(ctxFor(t, opTimeout), simple)
	if err != nil || fetched.Error() != nil {
		t.Fatalf("FetchOffsets: %v %v", err, fetched.Error())
	}
	if o0, o1 := fetched[topic][0], fetched[topic][1]; len(fetched) != 1 || o0.At != 3 || o0.Metadata != "first" || o1.At != 1 || o1.Metadata != "second" {
		t.Fatalf("FetchOffsets %s: %+v", simple, fetched)
	}

	// A live member consumes six records (three a partition) and commits them.
	prod := newClient(t, "producer", kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	for i := 0; i < 6; i++ {
		if err := prod.ProduceSync(ctxFor(t, opTimeout), &kgo.Record{Partition: int32(i % 2), Value: []byte(fmt.Sprint(i))}).FirstErr(); err != nil {
			t.Fatalf("ProduceSync: %v", err)
		}
	}
	m := joinGroup(t, "member", live, topic, kgo.CooperativeStickyBalancer())
	pollN(t, m.cl, 6)
	if err := m.cl.CommitUncommittedOffsets(ctxFor(t, opTimeout)); err != nil {
		t.Fatalf("CommitUncommittedOffsets: %v", err)
	}
	lags, err := adm.Lag(ctxFor(t, opTimeout), live)
	if err != nil || lags.Error() != nil {
		t.Fatalf("Lag: %v %v", err, lags.Error())
	}
	if l := lags[live]; l.Lag.Total() != 0 || len(l.Lag[topic]) != 2 {
		t.Fatalf("Lag %s: total %d over %v", live, l.Lag.Total(), l.Lag[topic])
	}

	described, err := adm.DescribeGroups(ctxFor(t, opTimeout), live, simple)
	if err != nil || described.Error() != nil {
		t.Fatalf("DescribeGroups: %v %v", err, described.Error())
	}
	g := described[live]
	if g.State != "Stable" || g.ProtocolType != "consumer" || g.Protocol != "cooperative-sticky" || len(g.Members) != 1 {
		t.Fatalf("DescribeGroups %s: %s %s/%s, %d members", live, g.State, g.ProtocolType, g.Protocol, len(g.Members))
	}
	if mem := g.Members[0]; mem.ClientID != "franz-compat-member" || mem.MemberID == "" || mem.ClientHost == "" {
		t.Fatalf("DescribeGroups member: %+v", mem)
	}
	if jt := g.JoinTopics(); len(jt) != 1 || jt[0] != topic {
		t.Fatalf("DescribeGroups subscription: %v", jt)
	}
	if ap := g.AssignedPartitions(); len(ap[topic]) != 2 {
		t.Fatalf("DescribeGroups assignment: %v", ap)
	}
	if s := described[simple]; s.State != "Empty" || len(s.Members) != 0 {
		t.Fatalf("DescribeGroups %s: %s, %d members", simple, s.State, len(s.Members))
	}

	listed, err := adm.ListGroups(ctxFor(t, opTimeout))
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	if l := listed[live]; l.State != "Stable" || l.ProtocolType != "consumer" {
		t.Fatalf("ListGroups %s: %+v", live, l)
	}
	if l, ok := listed[simple]; !ok || l.State != "Empty" {
		t.Fatalf("ListGroups %s: %v %+v", simple, ok, l)
	}
	stable, err := adm.ListGroups(ctxFor(t, opTimeout), "Stable")
	if err != nil {
		t.Fatalf("ListGroups(Stable): %v", err)
	}
	if _, ok := stable[live]; !ok {
		t.Fatalf("ListGroups(Stable) lacks %s", live)
	}
	if _, ok := stable[simple]; ok {
		t.Fatalf("ListGroups(Stable) lists the empty group %s", simple)
	}

	// While the member is there: the group cannot be deleted, nor its offsets for the topic it
	// subscribes to.
	if r, err := adm.DeleteGroup(ctxFor(t, opTimeout), live); err == nil || !errors.Is(r.Err, kerr.NonEmptyGroup) {
		t.Fatalf("DeleteGroup of a live group: %v %v, want NON_EMPTY_GROUP", err, r.Err)
	}
	do, err := adm.DeleteOffsets(ctxFor(t, opTimeout), live, kadm.TopicsSet{topic: {0: {}}})
	if err != nil {
		t.Fatalf("DeleteOffsets of a live group: %v", err)
	}
	if e, _ := do.Lookup(topic, 0); !errors.Is(e, kerr.GroupSubscribedToTopic) {
		t.Fatalf("DeleteOffsets of a subscribed topic: %v, want GROUP_SUBSCRIBED_TO_TOPIC", e)
	}
	if c := committed(t, adm, live, topic); len(c) != 2 || c[0] != 3 || c[1] != 3 {
		t.Fatalf("committed offsets of %s: %v, want 3 on both partitions", live, c)
	}

	// CommitOffsets moves the offsets-only group; DeleteOffsets removes one partition's.
	var move kadm.Offsets
	move.AddOffset(topic, 0, 5, -1)
	cr, err := adm.CommitOffsets(ctxFor(t, opTimeout), simple, move)
	if err != nil || cr.Error() != nil {
		t.Fatalf("CommitOffsets: %v %v", err, cr.Error())
	}
	if c := committed(t, adm, simple, topic); c[0] != 5 || c[1] != 1 {
		t.Fatalf("committed offsets of %s after CommitOffsets: %v", simple, c)
	}
	do, err = adm.DeleteOffsets(ctxFor(t, opTimeout), simple, kadm.TopicsSet{topic: {0: {}}})
	if err != nil || do.Error() != nil {
		t.Fatalf("DeleteOffsets: %v %v", err, do.Error())
	}
	if c := committed(t, adm, simple, topic); len(c) != 1 || c[1] != 1 {
		t.Fatalf("committed offsets of %s after DeleteOffsets: %v", simple, c)
	}

	m.cl.Close()
	waitUntil(t, pollTimeout, "the live group to be empty", func() bool {
		d, err := adm.DescribeGroups(ctxFor(t, opTimeout), live)
		return err == nil && d[live].State == "Empty"
	})
	deleted, err := adm.DeleteGroups(ctxFor(t, opTimeout), live, simple)
	if err != nil || deleted.Error() != nil {
		t.Fatalf("DeleteGroups: %v %v", err, deleted.Error())
	}
	listed, err = adm.ListGroups(ctxFor(t, opTimeout))
	if err != nil {
		t.Fatalf("ListGroups: %v", err)
	}
	for _, name := range []string{live, simple} {
		if _, ok := listed[name]; ok {
			t.Fatalf("ListGroups still lists the deleted group %s", name)
		}
		if c := committed(t, adm, name, topic); len(c) != 0 {
			t.Fatalf("deleted group %s still has offsets %v", name, c)
		}
	}
	if d, err := adm.DescribeGroups(ctxFor(t, opTimeout), live); err != nil || d[live].State != "Dead" {
		t.Fatalf("DescribeGroups of a deleted group: %v %+v, want Dead", err, d[live])
	}
	if r, err := adm.DeleteGroup(ctxFor(t, opTimeout), live); err == nil || !errors.Is(r.Err, kerr.GroupIDNotFound) {
		t.Fatalf("deleting %s again: %v %v, want GROUP_ID_NOT_FOUND", live, err, r.Err)
	}
}

// BrokerMetadata against DescribeCluster, the ApiVersions every broker advertises, and
// DescribeAllLogDirs for a topic with data.
func TestAdminCluster(t *testing.T) {
	t.Parallel()
	adm := newAdmin(t)
	cl := newClient(t, "raw")
	meta, err := adm.BrokerMetadata(ctxFor(t, opTimeout))
	if err != nil {
		t.Fatalf("BrokerMetadata: %v", err)
	}
	if meta.Cluster == "" || len(meta.Brokers) == 0 || len(meta.Topics) != 0 {
		t.Fatalf("BrokerMetadata: cluster %q, %d brokers, %d topics (none asked for)", meta.Cluster, len(meta.Brokers), len(meta.Topics))
	}
	brokers := map[int32]kgo.BrokerMetadata{}
	for _, b := range meta.Brokers {
		if b.Host == "" || b.Port <= 0 {
			t.Fatalf("BrokerMetadata: broker %+v", b)
		}
		brokers[b.NodeID] = b
	}
	if _, ok := brokers[meta.Controller]; !ok {
		t.Fatalf("BrokerMetadata: controller %d is not among the brokers %v", meta.Controller, meta.Brokers.NodeIDs())
	}

	dc, err := kmsg.NewPtrDescribeClusterRequest().RequestWith(ctxFor(t, opTimeout), cl)
	if err != nil || dc.ErrorCode != 0 {
		t.Fatalf("DescribeCluster: %v, error code %d", err, dc.ErrorCode)
	}
	if dc.ClusterID != meta.Cluster || len(dc.Brokers) != len(brokers) {
		t.Fatalf("DescribeCluster: cluster %q with %d brokers, metadata says %q with %d", dc.ClusterID, len(dc.Brokers), meta.Cluster, len(brokers))
	}
	if _, ok := brokers[dc.ControllerID]; !ok {
		t.Fatalf("DescribeCluster: controller %d is not a broker", dc.ControllerID)
	}
	for _, b := range dc.Brokers {
		m, ok := brokers[b.NodeID]
		if !ok || m.Host != b.Host || m.Port != b.Port {
			t.Fatalf("DescribeCluster broker %d at %s:%d, metadata %+v", b.NodeID, b.Host, b.Port, m)
		}
	}

	// ApiVersions: every broker answers; every range is well formed, names an API franz-go knows,
	// and goes no higher than Apache Kafka 3.9 does; the APIs this suite uses are all there.
	vs, err := adm.ApiVersions(ctxFor(t, opTimeout))
	if err != nil || len(vs) != len(brokers) {
		t.Fatalf("ApiVersions: %v, %d answers for %d brokers", err, len(vs), len(brokers))
	}
	ref := kversion.V3_9_0()
	for _, v := range vs.Sorted() {
		if v.Err != nil || v.Raw().ErrorCode != 0 {
			t.Fatalf("ApiVersions from %d: %v, error code %d", v.NodeID, v.Err, v.Raw().ErrorCode)
		}
		seen := map[int16]bool{}
		for _, k := range v.Raw().ApiKeys {
			if seen[k.ApiKey] {
				t.Errorf("broker %d advertises key %d twice", v.NodeID, k.ApiKey)
			}
			seen[k.ApiKey] = true
			name := kmsg.NameForKey(k.ApiKey)
			if k.MinVersion < 0 || k.MinVersion > k.MaxVersion {
				t.Errorf("broker %d: %s (%d) advertises %d-%d", v.NodeID, name, k.ApiKey, k.MinVersion, k.MaxVersion)
			}
			if kmsg.RequestForKey(k.ApiKey) == nil {
				t.Errorf("broker %d advertises key %d, which no Kafka release defines", v.NodeID, k.ApiKey)
			}
			if max, ok := ref.LookupMaxKeyVersion(k.ApiKey); ok && k.MaxVersion > max {
				t.Errorf("broker %d: %s up to v%d, Kafka 3.9 up to v%d", v.NodeID, name, k.MaxVersion, max)
			}
		}
		used := []int16{0, 1, 2, 3, 8, 9, 10, 11, 12, 13, 14, 15, 16, 18, 19, 20, 21, 22, 32, 35, 37, 42, 44, 47, 60}
		for _, key := range used {
			if !seen[key] {
				t.Errorf("broker %d does not advertise %s (%d)", v.NodeID, kmsg.NameForKey(key), key)
			}
		}
		if min, max, _ := v.KeyVersions(18); min != 0 || max < 3 {
			t.Errorf("broker %d: ApiVersions %d-%d, want 0 to at least 3 (flexible)", v.NodeID, min, max)
		}
	}

	// DescribeAllLogDirs: every replica of the topic is in one log dir of its broker, and the
	// partition with data has a size.
	topic := createTopic(t, adm, 2, nil)
	prod := newClient(t, "producer", kgo.DefaultProduceTopic(topic), kgo.RecordPartitioner(kgo.ManualPartitioner()))
	if err := prod.ProduceSync(ctxFor(t, opTimeout), &kgo.Record{Partition: 1, Value: []byte("sized")}).FirstErr(); err != nil {
		t.Fatalf("ProduceSync: %v", err)
	}
	td, err := adm.ListTopics(ctxFor(t, opTimeout), topic)
	if err != nil {
		t.Fatalf("ListTopics: %v", err)
	}
	dirs, err := adm.DescribeAllLogDirs(ctxFor(t, opTimeout), kadm.TopicsSet{topic: {0: {}, 1: {}}})
	if err != nil {
		t.Fatalf("DescribeAllLogDirs: %v", err)
	}
	for _, pd := range td[topic].Partitions.Sorted() {
		var where []string
		var size int64 = -1
		for broker, bd := range dirs {
			for dir, d := range bd {
				if d.Err != nil {
					t.Fatalf("DescribeAllLogDirs %d %s: %v", broker, dir, d.Err)
				}
				if d.TotalBytes >= 0 && (d.UsableBytes < 0 || d.UsableBytes > d.TotalBytes) {
					t.Fatalf("DescribeAllLogDirs %d %s: usable %d of %d bytes", broker, dir, d.UsableBytes, d.TotalBytes)
				}
				if p, ok := d.Topics.Lookup(topic, pd.Partition); ok {
					where = append(where, fmt.Sprintf("%d:%s", broker, dir))
					if broker == pd.Leader {
						size = p.Size
					}
				}
			}
		}
		sort.Strings(where)
		if len(where) != len(pd.Replicas) {
			t.Fatalf("partition %d is in log dirs %v, replicas %v", pd.Partition, where, pd.Replicas)
		}
		if (pd.Partition == 1) != (size > 0) || size < 0 {
			t.Fatalf("partition %d on its leader %d: size %d", pd.Partition, pd.Leader, size)
		}
	}
}
