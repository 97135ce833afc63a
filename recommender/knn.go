package recommender

import (
	"fmt"
	"math"
	"runtime"
	"strconv"
)

// KindItemKNN scores items by their cosine similarity to the items a user
// touched, keeping only each item's nearest neighbours: the item-based model
// for catalogs too large for EASE^R.
const KindItemKNN Kind = "itemknn"

// KNNConfig tunes item-kNN. Zero fields take the defaults in their comments.
type KNNConfig struct {
	// Neighbors kept per item; default 100.
	Neighbors int
	// Shrink damps similarities resting on few co-occurrences:
	// sim = c_ij / (sqrt(n_i n_j) + Shrink); default 10.
	Shrink float64
	// Workers compute items' neighbours in parallel; default GOMAXPROCS.
	Workers int
	// Popularity tunes the cold-start list.
	Popularity PopularityConfig
}

// item-kNN defaults.
const (
	DefaultKNNNeighbors = 100
	DefaultKNNShrink    = 10
)

func (c KNNConfig) withDefaults() KNNConfig {
	if c.Neighbors == 0 {
		c.Neighbors = DefaultKNNNeighbors
	}
	if c.Shrink == 0 {
		c.Shrink = DefaultKNNShrink
	}
	if c.Workers == 0 {
		c.Workers = runtime.GOMAXPROCS(0)
	}
	return c
}

// trainItemKNN keeps, for every item, its Neighbors most similar items.
func trainItemKNN(in []Interaction, cfg KNNConfig) (*itemItem, error) {
	cfg = cfg.withDefaults()
	if cfg.Neighbors < 0 || cfg.Shrink < 0 || cfg.Workers < 0 {
		return nil, fmt.Errorf("%w: knn neighbors, shrink and workers must be positive", ErrInvalidConfig)
	}
	data, err := newALSData(in, 1)
	if err != nil {
		return nil, err
	}
	n := len(data.items)
	likes := make([]float64, n) // users with a positive weight, per item
	for q, j := range data.byUser.idx {
		if data.byUser.val[q] > 0 {
			likes[j]++
		}
	}
	lists := make([][]scoredIndex, n)
	acc := make(chan []float32, cfg.Workers) // one accumulator per worker
	for range cfg.Workers {
		acc <- make([]float32, n)
	}
	parallelRows(n, cfg.Workers, func(i int) {
		counts := <-acc
		lists[i] = neighbours(data, likes, i, counts, cfg)
		acc <- counts
	})
	m := newItemItem(data)
	m.nbrPtr = make([]int64, n+1)
	for i, l := range lists {
		m.nbrPtr[i+1] = m.nbrPtr[i] + int64(len(l))
		for _, s := range l {
			m.nbrIdx = append(m.nbrIdx, s.index)
			m.nbrVal = append(m.nbrVal, s.score)
		}
	}
	return m, nil
}

// neighbours counts item i's co-occurrences into counts (left zeroed after)
// and returns its best neighbours by shrunk cosine similarity.
func neighbours(data *alsData, likes []float64, i int, counts []float32, cfg KNNConfig) []scoredIndex {
	var touched []int32
	var ni float64 // users who like item i
	for p := data.byItem.ptr[i]; p < data.byItem.ptr[i+1]; p++ {
		if data.byItem.val[p] <= 0 {
			continue
		}
		ni++
		u := data.byItem.idx[p]
		for q := data.byUser.ptr[u]; q < data.byUser.ptr[u+1]; q++ {
			j := data.byUser.idx[q]
			if int(j) == i || data.byUser.val[q] <= 0 {
				continue
			}
			if counts[j] == 0 {
				touched = append(touched, j)
			}
			counts[j]++
		}
	}
	top := newTopK(cfg.Neighbors)
	for _, j := range touched {
		top.offer(j, float32(float64(counts[j])/(math.Sqrt(ni*likes[j])+cfg.Shrink)))
		counts[j] = 0
	}
	return top.best()
}

// TrainItemKNN trains an item-kNN model; users it has never seen get the
// popular list.
func TrainItemKNN(in []Interaction, version string, cfg KNNConfig) (*Model, error) {
	cfg = cfg.withDefaults()
	ii, err := trainItemKNN(in, cfg)
	if err != nil {
		return nil, fmt.Errorf("train itemknn: %w", err)
	}
	m := TrainPopularityWith(in, version, cfg.Popularity)
	m.meta.Kind = KindItemKNN
	m.meta.Params = withPrefix(map[string]string{
		"neighbors": strconv.Itoa(cfg.Neighbors),
		"shrink":    strconv.FormatFloat(cfg.Shrink, 'g', -1, 64),
	}, "popularity_", m.meta.Params)
	m.ii = ii
	return m, nil
}
