package main

func genQuantizers() {}
