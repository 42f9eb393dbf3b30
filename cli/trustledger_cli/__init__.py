"""The trustledger command line: a thin click layer over trustledger.app."""
