package capture

import (
	"math/rand/v2"
	"testing"
	"time"
)

// randomScenario builds a scenario with small arenas and index so that a few thousand events
// wrap both many times. Most scenarios start arenas and index far below their maximum (down to one
// byte and two slots), so they grow, possibly several times, while readers hold and copy events.
func randomScenario(rng *rand.Rand) scenario {
	maxRead := 1 + rng.IntN(300)
	cfg := Config{
		MaxRead:      maxRead,
		ArenaBytes:   2*maxRead + rng.IntN(4*maxRead),
		Records:      2 + rng.IntN(64),
		StallTimeout: 30 * time.Second,
	}
	if rng.IntN(4) != 0 {
		cfg.InitialArenaBytes = 1 + rng.IntN(cfg.ArenaBytes)
		if rng.IntN(2) == 0 {
			cfg.InitialArenaBytes = 1 + rng.IntN(min(cfg.ArenaBytes, 8))
		}
		cfg.InitialRecords = 2 + rng.IntN(cfg.Records-1)
	}
	sc := scenario{cfg: cfg, lossless: 1 + rng.IntN(3), lossy: rng.IntN(3), seed: rng.Uint64()}
	for range 2 {
		ops := make([]op, 500+rng.IntN(1000))
		for i := range ops {
			switch k := rng.IntN(20); {
			case k == 0:
				ops[i] = op{kind: opWrite, size: rng.IntN(maxRead + 1)}
			case k == 1:
				ops[i] = op{kind: opRedacted, size: 1 + rng.IntN(2*maxRead)}
			default:
				// Sources offering more than MaxRead check that a read is capped at MaxRead.
				ops[i] = op{kind: opRead, size: 1 + rng.IntN(2*maxRead)}
			}
		}
		sc.prods = append(sc.prods, ops)
	}
	return sc
}

// TestPropertyLosslessSeesEverything: every lossless reader sees exactly the bytes each producer
// committed, in order, across many wrap-arounds of arenas and index, with random read sizes.
func TestPropertyLosslessSeesEverything(t *testing.T) {
	rounds := 40
	if testing.Short() {
		rounds = 8
	}
	var arenas, indexes int
	for seed := range uint64(rounds) {
		rng := rand.New(rand.NewPCG(seed, 0x5eed))
		sc := randomScenario(rng)
		t.Logf("seed %d: %+v lossless %d lossy %d", seed, sc.cfg, sc.lossless, sc.lossy)
		g := runScenario(t, sc)
		arenas += g.arenas
		if g.index {
			indexes++
		}
	}
	// The property must hold across growth, so growth must have happened in some rounds.
	if arenas == 0 || indexes == 0 {
		t.Fatalf("%d arenas and %d indexes grew in %d rounds; the test no longer exercises growth", arenas, indexes, rounds)
	}
	t.Logf("%d arenas and %d indexes grew in %d rounds", arenas, indexes, rounds)
}

// FuzzRing drives the same check from fuzzed sizes: the first bytes choose the configuration
// (data[5] and data[6] the initial arena and index, 0 for the defaults), the rest the operations
// of two producers.
func FuzzRing(f *testing.F) {
	f.Add([]byte{16, 40, 4, 2, 1, 0, 0, 5, 16, 17, 1, 200, 3, 0, 16, 15})
	f.Add([]byte{16, 40, 4, 2, 1, 1, 2, 5, 16, 17, 1, 200, 3, 0, 16, 15})
	f.Add([]byte{1, 0, 0, 1, 0, 1, 0, 1, 1, 1, 1, 1})
	f.Add([]byte{255, 255, 255, 3, 2, 7, 3, 0, 255, 128, 64, 32, 16, 8, 4, 2, 1})
	f.Add([]byte{200, 255, 200, 1, 2, 1, 2, 199, 199, 13, 26, 200, 150, 100, 50})
	f.Fuzz(func(t *testing.T, data []byte) {
		if len(data) < 7 {
			return
		}
		maxRead := 1 + int(data[0])
		sc := scenario{
			cfg: Config{
				MaxRead:      maxRead,
				ArenaBytes:   2*maxRead + int(data[1]),
				Records:      2 + int(data[2]),
				StallTimeout: 30 * time.Second,
			},
			lossless: 1 + int(data[3]%3),
			lossy:    int(data[4] % 3),
			seed:     uint64(len(data)),
		}
		// A tiny start makes the arena double up to ten times within one input.
		if data[5] != 0 {
			sc.cfg.InitialArenaBytes = 1 + (int(data[5])-1)%sc.cfg.ArenaBytes
		}
		if data[6] != 0 {
			sc.cfg.InitialRecords = 2 + (int(data[6])-1)%(sc.cfg.Records-1)
		}
		sc.prods = make([][]op, 2)
		for i, b := range data[7:] {
			o := op{kind: opRead, size: 1 + int(b)}
			switch b % 13 {
			case 0:
				o = op{kind: opWrite, size: min(int(b), maxRead)}
			case 1:
				o.kind = opRedacted
			}
			// Repeat each op so short inputs still wrap the arena.
			for range 8 {
				sc.prods[i%2] = append(sc.prods[i%2], o)
			}
		}
		runScenario(t, sc)
	})
}
