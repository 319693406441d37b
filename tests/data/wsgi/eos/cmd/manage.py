def main():
    print("eos-manage")
