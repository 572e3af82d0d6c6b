package franzcompat

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"testing"
	"time"

	"github.com/twmb/franz-go/pkg/kadm"
	"github.com/twmb/franz-go/pkg/kgo"
)

// member is one kgo.ConsumerGroup client and the partitions it currently owns, as its assignment
// callbacks tell them.
type member struct {
	cl    *kgo.Client
	mu    sync.Mutex
	owned map[int32]bool
}

func joinGroup(t *testing.T, name, group, topic string, balancer kgo.GroupBalancer) *member {
	t.Helper()
	m := &member{owned: map[int32]bool{}}
	update := func(ps map[string][]int32, owned bool) {
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, p := range ps[topic] {
			if owned {
				m.owned[p] = true
			} else {
				delete(m.owned, p)
			}
		}
	}
	m.cl = newClient(t, name,
		kgo.ConsumerGroup(group),
		kgo.ConsumeTopics(topic),
		kgo.Balancers(balancer),
		kgo.ConsumeResetOffset(kgo.NewOffset().AtStart()),
		kgo.DisableAutoCommit(),
		kgo.HeartbeatInterval(300*time.Millisecond),
		kgo.SessionTimeout(20*time.Second),
		kgo.RebalanceTimeout(20*time.Second),
		kgo.FetchMaxWait(500*time.Millisecond),
		kgo.OnPartitionsAssigned(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, true) }),
		kgo.OnPartitionsRevoked(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, false) }),
		kgo.OnPartitionsLost(func(_ context.Context, _ *kgo.Client, ps map[string][]int32) { update(ps, false) }),
	)
	return m
}

func (m *member) partitions() []int32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	var ps []int32
	for p := range m.owned {
		ps = append(ps, p)
	}
	sort.Slice(ps, func(i, j int) bool { return ps[i] < ps[j] })
	return ps
}

// produceRound writes perPartition records to every partition, valued "round-R p-P i-I", and
// returns the values by partition.
func produceRound(t *testing.T, prod *kgo.Client, topic string, partitions int32, round, perPartition int) map[int32][]string {
	t.Helper()
	want := map[int32][]string{}
	var recs []*kgo.Record
	for p := int32(0); p < partitions; p++ {
		for i := 0; i < perPartition; i++ {
			v := fmt.Sprintf("round-%d p-%d i-%d", round, p, i)
			want[p] = append(want[p], v)
			recs = append(recs, &kgo.Record{Topic: topic, Partition: p, Value: []byte(v)})
		}
	}
	if err := prod.ProduceSync(ctxFor(t, opTimeout), recs...).FirstErr(); err != nil {
		t.Fatalf("ProduceSync round %d: %v", round, err)
	}
	return want
}

// checkRecords compares what a member read with what was written to the partitions it owns.
func checkRecords(t *testing.T, who string, got []*kgo.Record, want map[int32][]string, owned []int32) {
	t.Helper()
	byPartition := map[int32][]string{}
	for _, r := range got {
		byPartition[r.Partition] = append(byPartition[r.Partition], string(r.Value))
	}
	for _, p := range owned {
		if fmt.Sprint(byPartition[p]) != fmt.Sprint(want[p]) {
			t.Fatalf("%s read %v from partition %d, want %v", who, byPartition[p], p, want[p])
		}
		delete(byPartition, p)
	}
	if len(byPartition) != 0 {
		t.Fatalf("%s read from partitions it does not own: %v", who, byPartition)
	}
}

// committed reads the group's committed offsets for the topic through kadm.
func committed(t *testing.T, adm *kadm.Client, group, topic string) map[int32]int64 {
	t.Helper()
	os, err := adm.FetchOffsets(ctxFor(t, opTimeout), group)
	if err != nil || os.Error() != nil {
		t.Fatalf("FetchOffsets %s: %v %v", group, err, os.Error())
	}
	out := map[int32]int64{}
	for p, o := range os[topic] {
		out[p] = o.At
	}
	return out
}

func expectCommitted(t *testing.T, adm *kadm.Client, group, topic string, partitions int32, at int64) {
	t.Helper()
	got := committed(t, adm, group, topic)
	if len(got) != int(partitions) {
		t.Fatalf("committed offsets %v, want %d partitions at %d", got, partitions, at)
	}
	for p, o := range got {
		if o != at {
			t.Fatalf("committed offsets %v, want every partition at %d (partition %d)", got, at, p)
		}
	}
}

// Two members split a four-partition topic and each reads exactly its own partitions; when one
// leaves the survivor takes all four and resumes the leaver's partitions at its commits; a new
// member after both resumes at the commits with no record lost or read twice.
func groupScenario(t *testing.T, balancer func() kgo.GroupBalancer) {
	adm := newAdmin(t)
	const partitions = 4
	const perPartition = 10
	topic := createTopic(t, adm, partitions, nil)
	group := uniqueName(t, "g")
	t.Cleanup(func() { adm.DeleteGroup(ctxFor(t, opTimeout), group) })
	prod := newClient(t, "producer", kgo.RecordPartitioner(kgo.ManualPartitioner()))

	a := joinGroup(t, "member-a", group, topic, balancer())
	b := joinGroup(t, "member-b", group, topic, balancer())
	waitUntil(t, pollTimeout, "two members owning two partitions each", func() bool {
		pa, pb := a.partitions(), b.partitions()
		return len(pa) == 2 && len(pb) == 2 && disjoint(pa, pb)
	})
	d, err := adm.DescribeGroups(ctxFor(t, opTimeout), group)
	if err != nil || d.Error() != nil {
		t.Fatalf("DescribeGroups: %v %v", err, d.Error())
	}
	if g := d[group]; g.State != "Stable" || len(g.Members) != 2 || g.ProtocolType != "consumer" || g.Protocol != balancer().ProtocolName() {
		t.Fatalf("DescribeGroups: state %s, %d members, protocol %s/%s", g.State, len(g.Members), g.ProtocolType, g.Protocol)
	}

	// Round 1: each member reads exactly the records of its own two partitions, then commits.
	want := produceRound(t, prod, topic, partitions, 1, perPartition)
	pa, pb := a.partitions(), b.partitions()
	var gotA []*kgo.Record
	var errA error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); gotA, errA = pollNErr(a.cl, 2*perPartition) }()
	gotB, errB := pollNErr(b.cl, 2*perPartition)
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("member a: %v; member b: %v", errA, errB)
	}
	checkRecords(t, "member a", gotA, want, pa)
	checkRecords(t, "member b", gotB, want, pb)
	for _, m := range []*member{a, b} {
		if err := m.cl.CommitUncommittedOffsets(ctxFor(t, opTimeout)); err != nil {
			t.Fatalf("CommitUncommittedOffsets: %v", err)
		}
	}
	expectCommitted(t, adm, group, topic, partitions, perPartition)

	// Member b leaves; a takes all four partitions and reads round 2 only: b's partitions resume
	// at b's commits.
	b.cl.Close()
	waitUntil(t, pollTimeout, "the survivor owning all four partitions", func() bool { return len(a.partitions()) == partitions })
	want = produceRound(t, prod, topic, partitions, 2, perPartition)
	checkRecords(t, "survivor", pollN(t, a.cl, partitions*perPartition), want, []int32{0, 1, 2, 3})
	if err := a.cl.CommitUncommittedOffsets(ctxFor(t, opTimeout)); err != nil {
		t.Fatalf("CommitUncommittedOffsets: %v", err)
	}
	expectCommitted(t, adm, group, topic, partitions, 2*perPartition)
	a.cl.Close()
	waitUntil(t, pollTimeout, "the group to be empty", func() bool {
		d, err := adm.DescribeGroups(ctxFor(t, opTimeout), group)
		return err == nil && d[group].State == "Empty"
	})

	// Round 3 is written while the group is empty; a new member reads exactly round 3.
	want = produceRound(t, prod, topic, partitions, 3, perPartition)
	c := joinGroup(t, "member-c", group, topic, balancer())
	checkRecords(t, "new member", pollN(t, c.cl, partitions*perPartition), want, []int32{0, 1, 2, 3})
	pollNothing(t, c.cl, time.Second)
	if err := c.cl.CommitUncommittedOffsets(ctxFor(t, opTimeout)); err != nil {
		t.Fatalf("CommitUncommittedOffsets: %v", err)
	}
	expectCommitted(t, adm, group, topic, partitions, 3*perPartition)
	c.cl.Close()
}

func disjoint(a, b []int32) bool {
	for _, x := range a {
		for _, y := range b {
			if x == y {
				return false
			}
		}
	}
	return true
}

func TestGroupRangeBalancer(t *testing.T) {
	t.Parallel()
	groupScenario(t, kgo.RangeBalancer)
}

func TestGroupCooperativeStickyBalancer(t *testing.T) {
	t.Parallel()
	groupScenario(t, kgo.CooperativeStickyBalancer)
}
