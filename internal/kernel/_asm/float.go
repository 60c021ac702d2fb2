package main

func genFloatTiles() {}
