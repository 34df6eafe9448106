//! Partner organizations and organization look-ups: the partner flag, slugs, and a
//! partner's reach (itself and its children).

use roster_domain::ids::OrgId;
use roster_domain::organization::Organization;
use roster_domain::values::Slug;

use crate::fixtures::{Store, create_org, delete_org, insert_org, new_org, org_id, update_org};

fn ids(orgs: &[Organization]) -> Vec<OrgId> {
    orgs.iter().map(|o| o.id).collect()
}

/// The partner flag is stored on insert and changed by an update, and every read of the
/// organization carries it.
pub async fn partner_flag_round_trips_through_insert_and_update(store: Store) {
    let mut partner = new_org("partner");
    partner.org.partner = true;
    insert_org(&store, &partner).await;
    let plain = create_org(&store, "plain").await;

    assert_eq!(store.get_organization(partner.id()).await.unwrap(), Some(partner.org.clone()));
    assert!(!store.get_organization(plain.id()).await.unwrap().unwrap().partner);
    let mut tx = store.begin().await.unwrap();
    assert!(tx.organization_for_update(partner.id()).await.unwrap().unwrap().partner);
    drop(tx);

    let mut demoted = partner.org.clone();
    demoted.partner = false;
    demoted.version += 1;
    update_org(&store, &demoted).await;
    let mut promoted = plain.org.clone();
    promoted.partner = true;
    promoted.version += 1;
    update_org(&store, &promoted).await;
    assert_eq!(store.get_organization(partner.id()).await.unwrap(), Some(demoted));
    assert_eq!(store.get_organization(plain.id()).await.unwrap(), Some(promoted.clone()));
    let listed = store.list_organizations(None, None, 10).await.unwrap();
    assert!(listed.contains(&promoted), "the list carries the flag: {listed:#?}");
}

/// `get_organization_by_slug` finds the live organization with the slug; deleted ones and
/// unknown slugs find nothing, and a reused slug finds the new organization.
pub async fn organization_is_found_by_slug_unless_deleted(store: Store) {
    let acme = create_org(&store, "acme").await;
    let globex = create_org(&store, "globex").await;
    let slug = |s: &str| Slug::parse(s).unwrap();

    assert_eq!(store.get_organization_by_slug(&slug("acme")).await.unwrap(), Some(acme.org.clone()));
    assert_eq!(store.get_organization_by_slug(&slug("globex")).await.unwrap(), Some(globex.org.clone()));
    assert_eq!(store.get_organization_by_slug(&slug("initech")).await.unwrap(), None);
    assert_eq!(store.get_organization_by_slug(&slug("acm")).await.unwrap(), None, "no prefix match");

    delete_org(&store, &acme).await;
    assert_eq!(store.get_organization_by_slug(&slug("acme")).await.unwrap(), None);
    let reborn = create_org(&store, "acme").await;
    assert_eq!(store.get_organization_by_slug(&slug("acme")).await.unwrap(), Some(reborn.org));
}

/// `list_organizations` with `within` lists that organization and its live children in id
/// order, keyset-paginated: not its grandchildren, siblings, parent or deleted children.
pub async fn listing_within_an_organization_shows_it_and_its_children_only(store: Store) {
    let mut partner = new_org("partner");
    partner.org.partner = true;
    let mut parent_of_partner = new_org("top");
    parent_of_partner.org.partner = true;
    partner.org.parent_id = Some(parent_of_partner.id());
    insert_org(&store, &parent_of_partner).await;
    insert_org(&store, &partner).await;
    let mut children = Vec::new();
    // Inserted in reverse id order, so insertion order cannot pass for id order.
    let mut fixtures: Vec<_> = (0..5).map(|i| new_org(&format!("child-{i}"))).collect();
    fixtures.reverse();
    for mut child in fixtures {
        child.org.parent_id = Some(partner.id());
        insert_org(&store, &child).await;
        children.push(child);
    }
    let mut grandchild = new_org("grandchild");
    grandchild.org.parent_id = Some(children[0].id());
    insert_org(&store, &grandchild).await;
    let mut sibling = new_org("sibling");
    sibling.org.parent_id = Some(parent_of_partner.id());
    insert_org(&store, &sibling).await;
    create_org(&store, "stranger").await;
    let mut gone = new_org("gone-child");
    gone.org.parent_id = Some(partner.id());
    insert_org(&store, &gone).await;
    delete_org(&store, &gone).await;

    let mut expected: Vec<Organization> = children.iter().map(|c| c.org.clone()).collect();
    expected.push(partner.org.clone());
    expected.sort_by_key(|o| o.id);

    assert_eq!(store.list_organizations(Some(partner.id()), None, 100).await.unwrap(), expected);
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let page = store.list_organizations(Some(partner.id()), after, 2).await.unwrap();
        assert!(page.len() <= 2);
        after = page.last().map(|o| o.id);
        let done = page.len() < 2;
        walked.extend(page);
        if done {
            break;
        }
        assert!(walked.len() <= expected.len(), "pagination runs past the end");
    }
    assert_eq!(ids(&walked), ids(&expected));

    // A child lists only itself; the partner's parent lists itself, the partner and the sibling.
    let child = &children[2];
    assert_eq!(ids(&store.list_organizations(Some(child.id()), None, 100).await.unwrap()), vec![child.id()]);
    let mut top = vec![parent_of_partner.id(), partner.id(), sibling.id()];
    top.sort();
    assert_eq!(ids(&store.list_organizations(Some(parent_of_partner.id()), None, 100).await.unwrap()), top);
    // An unknown organization reaches nothing; a deleted one is not listed itself.
    assert!(store.list_organizations(Some(org_id()), None, 100).await.unwrap().is_empty());
    assert!(store.list_organizations(Some(gone.id()), None, 100).await.unwrap().is_empty());
}
