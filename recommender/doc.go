// Package recommender trains, stores and queries the movie-recommendation models
// that Reelguard's retrieval service answers from.
//
// It reads interactions (MovieLens files, or anything the caller converts), trains
// a model, saves it as a versioned artifact, and answers top-K queries. The
// foundation model ranks by popularity; every model keeps that ranking as the
// cold-start list for users it has never seen. recommender/serve holds the HTTP
// handlers. The package imports nothing else of Reelguard.
package recommender
