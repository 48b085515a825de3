package storetest

import (
	"context"
	"errors"
	"maps"
	"testing"
	"time"

	"github.com/hearthfn/hearth/scheduler/store"
)

// RunNodes checks the NodeStore and JoinTokenStore contracts. newStorage is called once per
// subtest and must give fresh, empty storage.
func RunNodes(t *testing.T, newStorage func(t *testing.T) Storage) {
	open := func(t *testing.T) store.Store { return newStorage(t)() }
	t.Run("NodeUpsertGetList", func(t *testing.T) { testNodeUpsert(t, open(t)) })
	t.Run("NodeUpsertKeepsStateAndJoinTime", func(t *testing.T) { testNodeUpsertKeeps(t, open(t)) })
	t.Run("NodeDrainSurvivesRestart", func(t *testing.T) { testNodeDrainRestart(t, newStorage(t)) })
	t.Run("NodeTouchKeepsTheLatest", func(t *testing.T) { testNodeTouch(t, open(t)) })
	t.Run("NodeDeleteAndNotFound", func(t *testing.T) { testNodeDelete(t, open(t)) })
	t.Run("JoinTokenCreateGetList", func(t *testing.T) { testJoinTokenCreate(t, open(t)) })
	t.Run("JoinTokenRevoke", func(t *testing.T) { testJoinTokenRevoke(t, open(t)) })
}

func nodeRecord(id string, joined time.Time) store.NodeRecord {
	return store.NodeRecord{ID: id, Name: "host " + id, Labels: map[string]string{"zone": "a", "disk": "ssd"},
		AdvertiseAddr: "10.0.0.7", State: store.NodeReady, JoinedAt: joined, LastSeen: joined.Add(time.Second)}
}

func sameNode(t *testing.T, got, want store.NodeRecord) {
	t.Helper()
	if got.ID != want.ID || got.Name != want.Name || !maps.Equal(got.Labels, want.Labels) ||
		got.AdvertiseAddr != want.AdvertiseAddr || got.State != want.State ||
		!got.JoinedAt.Equal(want.JoinedAt) || !got.LastSeen.Equal(want.LastSeen) {
		t.Fatalf("node:\n got %+v\nwant %+v", got, want)
	}
}

func testNodeUpsert(t *testing.T, s store.Store) {
	ctx := context.Background()
	b := nodeRecord("bravo-0000000b", at(1))
	a := nodeRecord("alpha-0000000a", at(2))
	a.Labels, a.AdvertiseAddr, a.LastSeen = nil, "", time.Time{}
	for _, n := range []store.NodeRecord{b, a} {
		got, err := s.UpsertNode(ctx, n)
		if err != nil {
			t.Fatal(err)
		}
		sameNode(t, got, n)
	}
	got, err := s.GetNode(ctx, b.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameNode(t, got, b)
	all, err := s.ListNodes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID {
		t.Fatalf("list sorted by id: got %+v", all)
	}
	sameNode(t, all[0], a)
}

func testNodeUpsertKeeps(t *testing.T, s store.Store) {
	ctx := context.Background()
	n := nodeRecord("keep-00000001", at(1))
	if _, err := s.UpsertNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := s.SetNodeState(ctx, n.ID, store.NodeDraining); err != nil {
		t.Fatal(err)
	}
	again := store.NodeRecord{ID: n.ID, Name: "renamed", Labels: map[string]string{"zone": "b"},
		AdvertiseAddr: "10.0.0.8", State: store.NodeReady, JoinedAt: at(50), LastSeen: at(60)}
	got, err := s.UpsertNode(ctx, again)
	if err != nil {
		t.Fatal(err)
	}
	want := again
	want.State, want.JoinedAt = store.NodeDraining, n.JoinedAt
	sameNode(t, got, want)
	older := again
	older.LastSeen = at(30)
	if got, err = s.UpsertNode(ctx, older); err != nil {
		t.Fatal(err)
	}
	if !got.LastSeen.Equal(at(60)) {
		t.Fatalf("last seen: got %v, want %v (the later of the two)", got.LastSeen, at(60))
	}
}

func testNodeDrainRestart(t *testing.T, storage Storage) {
	ctx := context.Background()
	s := storage()
	n := nodeRecord("drain-00000002", at(1))
	if _, err := s.UpsertNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := s.SetNodeState(ctx, n.ID, store.NodeDraining); err != nil {
		t.Fatal(err)
	}
	if err := s.SetNodeState(ctx, n.ID, "sleeping"); err == nil {
		t.Fatal("an unknown state was stored")
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	s = storage()
	got, err := s.GetNode(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.State != store.NodeDraining {
		t.Fatalf("state after a restart: got %q, want draining", got.State)
	}
	if err := s.SetNodeState(ctx, n.ID, store.NodeReady); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetNode(ctx, n.ID); got.State != store.NodeReady {
		t.Fatalf("state after undrain: got %q, want ready", got.State)
	}
}

func testNodeTouch(t *testing.T, s store.Store) {
	ctx := context.Background()
	n := nodeRecord("touch-00000003", at(1))
	n.LastSeen = time.Time{}
	if _, err := s.UpsertNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchNodes(ctx, map[string]time.Time{n.ID: at(50), "unknown": at(60)}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchNodes(ctx, map[string]time.Time{n.ID: at(40)}); err != nil {
		t.Fatal(err)
	}
	if err := s.TouchNodes(ctx, nil); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetNode(ctx, n.ID)
	if err != nil {
		t.Fatal(err)
	}
	if !got.LastSeen.Equal(at(50)) {
		t.Fatalf("last seen: got %v, want %v (the later of two touches)", got.LastSeen, at(50))
	}
}

func testNodeDelete(t *testing.T, s store.Store) {
	ctx := context.Background()
	n := nodeRecord("gone-00000004", at(1))
	if _, err := s.UpsertNode(ctx, n); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteNode(ctx, n.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := s.GetNode(ctx, n.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get of a deleted node: %v, want ErrNotFound", err)
	}
	if err := s.DeleteNode(ctx, n.ID); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete twice: %v, want ErrNotFound", err)
	}
	if err := s.SetNodeState(ctx, n.ID, store.NodeDraining); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("drain of a deleted node: %v, want ErrNotFound", err)
	}
	if all, err := s.ListNodes(ctx); err != nil || len(all) != 0 {
		t.Fatalf("list after delete: %v, %v", all, err)
	}
}

func joinTokenRecord(id string, created time.Time) store.JoinTokenRecord {
	return store.JoinTokenRecord{ID: id, SecretHash: "hash-of-" + id, Labels: map[string]string{"zone": "a"},
		CreatedAt: created, ExpiresAt: created.Add(30 * time.Minute)}
}

func sameJoinToken(t *testing.T, got, want store.JoinTokenRecord) {
	t.Helper()
	if got.ID != want.ID || got.SecretHash != want.SecretHash || !maps.Equal(got.Labels, want.Labels) ||
		!got.CreatedAt.Equal(want.CreatedAt) || !got.ExpiresAt.Equal(want.ExpiresAt) || got.Revoked != want.Revoked {
		t.Fatalf("join token:\n got %+v\nwant %+v", got, want)
	}
}

func testJoinTokenCreate(t *testing.T, s store.Store) {
	ctx := context.Background()
	a := joinTokenRecord("00000000000000aa", at(1))
	b := joinTokenRecord("00000000000000bb", at(2))
	b.Labels = nil
	for _, r := range []store.JoinTokenRecord{b, a} {
		if err := s.CreateJoinToken(ctx, r); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetJoinToken(ctx, a.ID)
	if err != nil {
		t.Fatal(err)
	}
	sameJoinToken(t, got, a)
	all, err := s.ListJoinTokens(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 || all[0].ID != a.ID || all[1].ID != b.ID {
		t.Fatalf("list oldest first: got %+v", all)
	}
	sameJoinToken(t, all[1], b)
	if err := s.CreateJoinToken(ctx, a); err == nil {
		t.Fatal("a second join token with the same id was stored")
	}
	if _, err := s.GetJoinToken(ctx, "unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("get of an unknown join token: %v, want ErrNotFound", err)
	}
}

func testJoinTokenRevoke(t *testing.T, s store.Store) {
	ctx := context.Background()
	r := joinTokenRecord("00000000000000cc", at(1))
	if err := s.CreateJoinToken(ctx, r); err != nil {
		t.Fatal(err)
	}
	for range 2 {
		if err := s.RevokeJoinToken(ctx, r.ID); err != nil {
			t.Fatal(err)
		}
	}
	got, err := s.GetJoinToken(ctx, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	r.Revoked = true
	sameJoinToken(t, got, r)
	if all, err := s.ListJoinTokens(ctx); err != nil || len(all) != 1 || !all[0].Revoked {
		t.Fatalf("list keeps revoked tokens: %+v, %v", all, err)
	}
	if err := s.RevokeJoinToken(ctx, "unknown"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke of an unknown join token: %v, want ErrNotFound", err)
	}
}
