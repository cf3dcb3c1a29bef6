package cluster

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// The JetStream assets of a cluster, created idempotently by every node that joins.
const (
	clusterBucket = "warren_cluster" // KV: the settings every node must share
	nodesBucket   = "warren_nodes"   // KV: node leases (TTL = lease TTL)
	ownersBucket  = "warren_owners"  // KV: object key -> owner claim
	alarmsBucket  = "warren_alarms"  // KV: object key -> its earliest due alarm (alarms.go)
	snapBucket    = "warren_snap"    // object store: snapshots and big batches
	logStreamPre  = "warren_log_"    // streams warren_log_<shard>
	logSubjectPre = "warren.log."    // subjects warren.log.<shard>.<object key>
	settingsKey   = "settings"
)

// settings are what every node of a cluster must agree on. The first node to join
// records them; a node configured otherwise is refused (ErrConfigMismatch).
type settings struct {
	LeaseTTL  time.Duration `json:"lease_ttl"`
	Replicas  int           `json:"replicas"`
	LogShards int           `json:"log_shards"`
}

// assets are the handles a node works with.
type assets struct {
	nodes, owners *bucket
	alarms        jetstream.KeyValue
	snaps         jetstream.ObjectStore
	logs          []jetstream.Stream // by shard
}

// ensureAssets opens the cluster's assets, creating those missing. JetStream may
// not be ready yet (no meta leader while the servers are still forming the cluster):
// each step is retried until ctx ends. An asset that exists is used as it is: the
// settings that shape them are the same on every node (agreeSettings). With
// adoptLease, s.LeaseTTL is a default, replaced by the cluster's recorded lease.
func ensureAssets(ctx context.Context, js jetstream.JetStream, s *settings, adoptLease bool) (*assets, error) {
	kvCfg := func(bucket string) jetstream.KeyValueConfig {
		return jetstream.KeyValueConfig{Bucket: bucket, History: 1, Storage: jetstream.FileStorage, Replicas: s.Replicas}
	}
	kv := func(cfg jetstream.KeyValueConfig) (jetstream.KeyValue, error) {
		return openOrCreate(ctx, jetstream.ErrBucketNotFound,
			func(ctx context.Context) (jetstream.KeyValue, error) { return js.KeyValue(ctx, cfg.Bucket) },
			func(ctx context.Context) (jetstream.KeyValue, error) { return js.CreateKeyValue(ctx, cfg) })
	}
	shared, err := kv(kvCfg(clusterBucket))
	if err != nil {
		return nil, err
	}
	agreed, err := agreeSettings(ctx, &bucket{KeyValue: shared, js: js, name: clusterBucket}, *s, adoptLease)
	if err != nil {
		return nil, err
	}
	*s = agreed
	nodesCfg := kvCfg(nodesBucket)
	nodesCfg.TTL = s.LeaseTTL
	nodesCfg.LimitMarkerTTL = max(s.LeaseTTL, time.Second) // watchers see an expiry as a delete
	nodes, err := kv(nodesCfg)
	if err != nil {
		return nil, err
	}
	owners, err := kv(kvCfg(ownersBucket))
	if err != nil {
		return nil, err
	}
	alarms, err := kv(kvCfg(alarmsBucket))
	if err != nil {
		return nil, err
	}
	a := &assets{
		nodes:  &bucket{KeyValue: nodes, js: js, name: nodesBucket},
		owners: &bucket{KeyValue: owners, js: js, name: ownersBucket},
		alarms: alarms,
	}
	snapCfg := jetstream.ObjectStoreConfig{Bucket: snapBucket, Storage: jetstream.FileStorage, Replicas: s.Replicas}
	a.snaps, err = openOrCreate(ctx, jetstream.ErrBucketNotFound,
		func(ctx context.Context) (jetstream.ObjectStore, error) { return js.ObjectStore(ctx, snapBucket) },
		func(ctx context.Context) (jetstream.ObjectStore, error) { return js.CreateObjectStore(ctx, snapCfg) })
	if err != nil {
		return nil, err
	}
	for shard := range s.LogShards {
		cfg := jetstream.StreamConfig{
			Name:        fmt.Sprintf("%s%02d", logStreamPre, shard),
			Subjects:    []string{fmt.Sprintf("%s%d.*", logSubjectPre, shard)},
			Storage:     jetstream.FileStorage,
			Replicas:    s.Replicas,
			Retention:   jetstream.LimitsPolicy,
			AllowRollup: true,  // a snapshot replaces the records before it
			AllowDirect: false, // reads of the tail go to the stream leader
			MaxMsgs:     -1,
			MaxBytes:    -1,
		}
		st, err := openOrCreate(ctx, jetstream.ErrStreamNotFound,
			func(ctx context.Context) (jetstream.Stream, error) { return js.Stream(ctx, cfg.Name) },
			func(ctx context.Context) (jetstream.Stream, error) { return js.CreateStream(ctx, cfg) })
		if err != nil {
			return nil, err
		}
		a.logs = append(a.logs, st)
	}
	return a, nil
}

// openOrCreate opens an asset, or creates it when open fails with notFound, retrying
// (another node may be creating it at the same moment) until ctx ends.
func openOrCreate[T any](ctx context.Context, notFound error, open, create func(context.Context) (T, error)) (T, error) {
	return retry(ctx, func(ctx context.Context) (T, error) {
		v, err := open(ctx)
		if errors.Is(err, notFound) {
			return create(ctx)
		}
		return v, err
	})
}

// agreeSettings records s as the cluster's settings, or checks it against those
// recorded. The record is read from the bucket's leader: a node that lost the race to
// create it could otherwise read a follower that has not applied the winner's write
// (a direct get answered "key not found", and Join failed, when three nodes started
// at once). Both steps are retried while JetStream does not answer. With adoptLease,
// a recorded lease other than s's is taken (s's is only a default: a cluster made
// before the default changed keeps its lease), and the settings agreed are returned.
func agreeSettings(ctx context.Context, b *bucket, s settings, adoptLease bool) (settings, error) {
	want, err := json.Marshal(s)
	if err != nil {
		return s, err
	}
	recorded, err := retry(ctx, func(ctx context.Context) ([]byte, error) {
		if _, err := b.create(ctx, settingsKey, want); err == nil || !errors.Is(err, jetstream.ErrKeyExists) {
			return want, err
		}
		v, _, found, err := b.get(ctx, settingsKey)
		if err == nil && !found {
			err = fmt.Errorf("cluster: the settings record vanished after it was created")
		}
		return v, err
	})
	if err != nil {
		return s, err
	}
	var have settings
	if err := json.Unmarshal(recorded, &have); err != nil {
		return s, fmt.Errorf("cluster: bad recorded settings: %w", err)
	}
	if adoptLease {
		s.LeaseTTL = have.LeaseTTL
	}
	if have != s {
		return s, fmt.Errorf("%w: cluster has %+v, this node %+v", ErrConfigMismatch, have, s)
	}
	return s, nil
}

// retry calls f until it succeeds or ctx ends, each attempt bounded by 2 s: while
// the servers elect their meta leader, or learn that one of them is gone, a request
// can go unanswered.
func retry[T any](ctx context.Context, f func(ctx context.Context) (T, error)) (T, error) {
	for {
		attempt, cancel := context.WithTimeout(ctx, 2*time.Second)
		v, err := f(attempt)
		cancel()
		if err == nil {
			return v, nil
		}
		select {
		case <-ctx.Done():
			var zero T
			return zero, fmt.Errorf("cluster: JetStream not ready: %w (%v)", err, ctx.Err())
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// objectKey is an object's key in the cluster: hex SHA-256 of its namespace and ID,
// valid as a KV key and a subject token whatever the namespace is called.
func objectKey(namespace, id string) string {
	h := sha256.Sum256([]byte(namespace + "\x00" + id))
	return hex.EncodeToString(h[:])
}

// logShard returns the shard (stream) holding the log of key.
func logShard(key string, shards int) int {
	b, _ := hex.DecodeString(key[:2])
	return int(b[0]) % shards
}
